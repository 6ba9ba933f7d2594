"""The spa's outcome report pages for one referral: write or edit the report, share it, see deliveries.

Mounted under /s/<spa_slug>/referrals/<referral_id>/outcome/ (namespace "outcomes"). Showing a saved
report writes one "outcome_report.viewed" audit event; the page for a referral with no report yet writes
the referral's own "referral.viewed" event.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from infra import documents
from infra.forms import apply_validation_error
from infra.pdf import render_template_to_pdf

from .. import selectors
from ..consent.selectors import sharing_authorization_for
from ..models import OutcomeDelivery, OutcomeReport
from ..services import referral_record_view
from .documents import KIND as OUTCOME_KIND
from .forms import OutcomeReportForm
from .services import outcome_report_record_view, outcome_report_save, outcome_report_share


def referral_or_404(request, referral_id):
    referral = selectors.referral_detail(spa=request.spa, public_id=referral_id)
    if referral is None:
        raise Http404("No such referral.")
    return referral


def _report_of(referral):
    return OutcomeReport.objects.filter(spa=referral.spa, referral=referral).first()


@require_http_methods(["GET", "POST"])
def outcome_report_edit(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    report = _report_of(referral)
    form = OutcomeReportForm(
        request.POST or None,
        initial=OutcomeReportForm.initial_from(report),
        spa=request.spa,
        specialty=referral.practice.specialty,
    )
    if request.method == "POST" and form.is_valid():
        try:
            outcome_report_save(
                referral=referral,
                author=request.user,
                services=form.cleaned_data["services"],
                sessions=form.cleaned_data["sessions"],
                observations=form.cleaned_data["observations"],
                recommendations=form.cleaned_data["recommendations"],
                measures=form.measures(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Outcome report saved as a draft."))
            return redirect("outcomes:edit", spa_slug=spa_slug, referral_id=referral_id)
    elif report is not None:
        outcome_report_record_view(report=report, actor=request.user, channel="spa")
    else:
        referral_record_view(referral=referral, actor=request.user, channel="spa")
    deliveries = OutcomeDelivery.objects.filter(spa=request.spa, report=report) if report else []
    context = {
        "referral": referral,
        "report": report,
        "form": form,
        "deliveries": deliveries,
        "authorized": sharing_authorization_for(referral=referral) is not None,
    }
    return render(request, "referrals/outcome_form.html", context, status=400 if form.errors else 200)


@require_POST
def outcome_report_share_view(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    report = _report_of(referral)
    if report is None:
        raise Http404("No outcome report yet.")
    try:
        outcome_report_share(report=report, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Outcome report queued for delivery; the authorization is checked again when it is sent.")
        )
    return redirect("outcomes:edit", spa_slug=spa_slug, referral_id=referral_id)


@require_GET
def outcome_report_pdf(request, spa_slug, referral_id):
    """The spa's own one-page PDF of the report as it stands now (the portal prints what was delivered)."""
    referral = referral_or_404(request, referral_id)
    report = _report_of(referral)
    if report is None:
        raise Http404("No outcome report yet.")
    kind = documents.KINDS[OUTCOME_KIND]
    template_name, context = kind.build(request.spa, report, {})
    rendered = render_template_to_pdf(template_name, context, time_limit=kind.time_limit)
    outcome_report_record_view(report=report, actor=request.user, channel="spa_pdf")
    response = HttpResponse(rendered.content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="outcome-report-{report.public_id}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
