"""Manual entry: a referral that arrived by phone, fax, email or in person, typed in by the spa's staff.

Mounted in the ``referrals`` namespace under /s/<spa_slug>/referrals/new/ (``referrals/urls.py``), so the
workspace's tenancy middleware has already checked the membership.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from infra.forms import apply_validation_error

from .. import services
from ..views import in_spa_timezone
from .forms import ManualReferralForm
from .submissions import submission_create_once, submission_key, submission_token_for_form


@in_spa_timezone
def referral_create(request, spa_slug):
    """A referral that arrived by phone, fax, email or in person, typed in by the spa's staff."""
    spa = request.spa
    # "Enter a referral from this practice" (a practice's page) names the practice, and perhaps the clinician.
    initial = ManualReferralForm.initial_from_link(spa=spa, query=request.GET) if request.method != "POST" else {}
    form = ManualReferralForm(request.POST or None, request.FILES or None, spa=spa, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # A repeat of this rendered form (double click, resend) creates nothing and sees the same page.
            referral, _created = submission_create_once(
                spa=spa,
                key=submission_key(request, purpose=f"manual:{request.user.pk}"),
                create=lambda: services.referral_create(
                    spa=spa,
                    practice=data["practice"],
                    clinician=data["clinician"],
                    channel=data["channel"],
                    patient=form.patient(),
                    details=form.details(),
                    services=data["services"],
                    attachment=data["attachment"],
                    consent_to_contact=data["consent_to_contact"],
                    consent_method=data["consent_method"],
                    consent_captured_by=f"{request.user.display_name} <{request.user.email}>",
                    created_by=request.user,
                    created_by_label=request.user.display_name,
                ),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Referral saved. First contact is due by %(due)s") % {"due": _due(referral)})
            return redirect("referrals:detail", spa_slug=spa.slug, referral_id=referral.public_id)
    status = 400 if form.errors else 200
    context = {"form": form, "submission_token": submission_token_for_form(request, spa=spa)}
    return render(request, "referrals/create.html", context, status=status)


def _due(referral):
    return date_format(timezone.localtime(referral.first_contact_due_at), "D N j, P")


@in_spa_timezone
def referral_create_options(request, spa_slug):
    """htmx: the clinician and reason menus for the practice just chosen on the manual-entry form."""
    form = ManualReferralForm(initial={"practice": request.GET.get("practice") or None}, spa=request.spa)
    return render(request, "referrals/partials/practice_fields.html", {"form": form})
