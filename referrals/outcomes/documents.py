"""The "outcome_report" document kind (infra.documents): one page with what was delivered to the practice.

The source is an OutcomeReport; options are {"delivery": public_id} to print exactly what one delivery
shared, or {} for the current draft (the spa's own preview). Text reaches the template as context, escaped.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra import documents

from ..models import OutcomeDelivery
from ..pads.documents import DEFAULT_COLOUR, HEX_COLOUR, logo_data_uri
from .selectors import report_content

KIND = "outcome_report"


def outcome_version(report):
    return f"{report.version}-{report.shared_version or 0}-{report.status}"


def outcome_title(report, options):
    return _("Outcome report (version %(version)s)") % {"version": report.version}


def outcome_build(spa, report, options):
    if options.get("delivery"):
        delivery = OutcomeDelivery.objects.filter(
            spa=spa, report=report, public_id=options["delivery"], status=OutcomeDelivery.Status.DELIVERED
        ).first()
        if delivery is None:
            raise ValueError(_("This outcome report was not delivered."))
        content = delivery.content
        delivered_at = delivery.delivered_at
    else:
        content = report_content(report)
        delivered_at = None
    referral = report.referral
    context = {
        "spa": spa,
        "referral": referral,
        "practice": referral.practice,
        "content": content,
        "delivered_at": delivered_at,
        "logo_data_uri": logo_data_uri(spa),
        "brand_colour": spa.brand_colour if HEX_COLOUR.fullmatch(spa.brand_colour or "") else DEFAULT_COLOUR,
    }
    return "documents/outcome_report.html", context


documents.register(
    documents.DocumentKind(
        kind=KIND,
        label=gettext_lazy("Outcome report"),
        source_model="referrals.OutcomeReport",
        build=outcome_build,
        version=outcome_version,
        title=outcome_title,
    )
)
