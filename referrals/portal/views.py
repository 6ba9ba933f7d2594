"""The partner portal: clinic staff of one practice follow their referrals and send new ones.

Every view but the invitation link is wrapped in ``portal_view``: it has already checked the person's access,
set ``request.spa`` / ``request.practice`` and activated the spa's scope. The invitation link
(``portal_invitation``, /portal-invitations/<token>/ in the ``public`` namespace) comes before any access.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from infra import documents
from infra.forms import apply_validation_error
from infra.pdf import render_template_to_pdf
from spas.catalog import services_for_specialty

from ..intake.submissions import submission_create_once, submission_key, submission_token_for_form
from ..models import CLOSED_STATUSES, OPEN_STATUSES, WITHDRAWABLE_STATUSES, Status
from ..outcomes.documents import KIND as OUTCOME_KIND
from ..outcomes.selectors import portal_outcome_report, portal_outcome_reports
from ..outcomes.services import outcome_report_record_view
from ..services import first_contact_business_days, referral_record_view
from .access import portal_view
from .forms import PortalInformationForm, PortalReferralForm, PortalWithdrawForm
from .selectors import portal_referral_detail, portal_referrals
from .services import (
    portal_invitation_accept,
    portal_invitation_by_token,
    portal_referral_add_information,
    portal_referral_create,
    portal_referral_withdraw,
)

PAGE_SIZE = 20
LAST_SENT_SESSION_KEY = "portal_last_referral"
STATUS_FILTERS = {
    "open": (_("Open"), OPEN_STATUSES),
    "closed": (_("Closed"), CLOSED_STATUSES),
    "all": (_("All"), None),
}


def _context(request, **extra):
    return {"spa": request.spa, "practice": request.practice, "portal_access": request.portal_access, **extra}


@portal_view
@require_GET
def portal_home(request, spa_slug):
    show = request.GET.get("show", "all")
    if show not in STATUS_FILTERS:
        show = "all"
    referrals = portal_referrals(spa=request.spa, practice=request.practice)
    statuses = STATUS_FILTERS[show][1]
    if statuses is not None:
        referrals = referrals.filter(status__in=statuses)
    page = Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = [(key, label) for key, (label, _statuses) in STATUS_FILTERS.items()]
    return render(request, "portal/home.html", _context(request, page=page, show=show, filters=filters))


def _practice_referral_or_404(request, referral_id):
    referral = portal_referral_detail(spa=request.spa, practice=request.practice, public_id=referral_id)
    if referral is None:
        raise Http404("No such referral.")
    return referral


def _referral_page(request, referral, *, information_form=None, withdraw_form=None, status=200):
    """The referral's page for the practice: what it sent, when first contact is expected, its status, and
    the forms to add information or withdraw. Every render is audited, like every read of a referral."""
    referral_record_view(referral=referral, actor=request.user, channel="portal")
    context = _context(
        request,
        referral=referral,
        information_form=information_form or PortalInformationForm(),
        withdraw_form=withdraw_form or PortalWithdrawForm(),
        can_withdraw=referral.status in WITHDRAWABLE_STATUSES,
        can_add_information=referral.status != Status.WITHDRAWN and not referral.health_fields_purged_at,
    )
    return render(request, "portal/referral.html", context, status=status)


@portal_view
@require_GET
def portal_referral(request, spa_slug, referral_id):
    """One referral's status page."""
    return _referral_page(request, _practice_referral_or_404(request, referral_id))


@portal_view
@require_POST
def portal_referral_add_information_view(request, spa_slug, referral_id):
    referral = _practice_referral_or_404(request, referral_id)
    form = PortalInformationForm(request.POST)
    if form.is_valid():
        try:
            portal_referral_add_information(
                access=request.portal_access, referral=referral, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Added. %(spa)s can see it now.") % {"spa": request.spa.name})
            return redirect("portal:referral", spa_slug=spa_slug, referral_id=referral.public_id)
    return _referral_page(request, referral, information_form=form, status=400)


@portal_view
@require_POST
def portal_referral_withdraw_view(request, spa_slug, referral_id):
    referral = _practice_referral_or_404(request, referral_id)
    form = PortalWithdrawForm(request.POST)
    if form.is_valid():
        try:
            portal_referral_withdraw(
                access=request.portal_access, referral=referral, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                _("Referral withdrawn. %(spa)s was told and will not contact the patient.") % {"spa": request.spa.name},
            )
            return redirect("portal:referral", spa_slug=spa_slug, referral_id=referral.public_id)
    # Refused (the spa accepted it meanwhile): the page as it is now, with the reason.
    referral = _practice_referral_or_404(request, referral_id)
    return _referral_page(request, referral, withdraw_form=form, status=400)


@portal_view
@require_http_methods(["GET", "POST"])
def portal_referral_new(request, spa_slug):
    services = services_for_specialty(spa=request.spa, specialty=request.practice.specialty)
    form = PortalReferralForm(
        request.POST or None,
        request.FILES or None,
        spa=request.spa,
        practice=request.practice,
        services=services,
        last_clinician=request.portal_access.last_clinician,
    )
    if request.method == "POST" and form.is_valid():
        try:
            # A repeat of this rendered form (double click, resend) creates nothing and sees the same page.
            referral, _created = submission_create_once(
                spa=request.spa,
                key=submission_key(request, purpose=f"portal:{request.portal_access.pk}"),
                create=lambda: portal_referral_create(
                    access=request.portal_access,
                    patient=form.patient(),
                    details=form.details(),
                    services=form.cleaned_data["services"],
                    clinician=form.cleaned_data["clinician"],
                    patient_agreed=form.cleaned_data["patient_agreed"],
                    sharing_authorization=form.sharing_authorization(),
                    request=request,
                ),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            # The confirmation page links to the status page without reading the referral (nor putting
            # anything about the patient in its address).
            request.session[LAST_SENT_SESSION_KEY] = str(referral.public_id)
            return redirect("portal:sent", spa_slug=spa_slug)
    context = _context(request, form=form, submission_token=submission_token_for_form(request, spa=request.spa))
    return render(request, "portal/referral_form.html", context, status=400 if form.errors else 200)


@portal_view
@require_GET
def portal_referral_sent(request, spa_slug):
    return render(
        request,
        "portal/sent.html",
        _context(
            request,
            referral_id=request.session.get(LAST_SENT_SESSION_KEY),
            business_days=first_contact_business_days(request.spa),
        ),
    )


# --- outcome reports ------------------------------------------------------------------------------


@portal_view
@require_GET
def portal_outcome_list(request, spa_slug):
    """Outcome reports delivered to this practice about its own referrals."""
    reports = portal_outcome_reports(spa=request.spa, practice=request.practice)
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/outcomes.html", _context(request, page=page))


def _delivered_or_404(request, report_id):
    report, delivery = portal_outcome_report(spa=request.spa, practice=request.practice, public_id=report_id)
    if report is None:
        raise Http404("No such report.")
    return report, delivery


@portal_view
@require_GET
def portal_outcome(request, spa_slug, report_id):
    """One delivered report, as delivered. Every read is audited."""
    report, delivery = _delivered_or_404(request, report_id)
    outcome_report_record_view(report=report, actor=request.user, channel="portal")
    return render(request, "portal/outcome.html", _context(request, report=report, delivery=delivery))


@portal_view
@require_GET
def portal_outcome_pdf(request, spa_slug, report_id):
    """The one-page PDF of the delivered report, rendered by the "outcome_report" document kind. Audited."""
    report, delivery = _delivered_or_404(request, report_id)
    kind = documents.KINDS[OUTCOME_KIND]
    template_name, context = kind.build(request.spa, report, {"delivery": str(delivery.public_id)})
    rendered = render_template_to_pdf(template_name, context, time_limit=kind.time_limit)
    outcome_report_record_view(report=report, actor=request.user, channel="portal_pdf")
    response = HttpResponse(rendered.content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="outcome-report-{report.public_id}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- the invitation link ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def portal_invitation(request, token):
    """The link in a portal invitation email. Anyone may look; only the invited address may accept."""
    invitation = portal_invitation_by_token(token)
    if invitation is None:
        raise Http404("No such invitation.")
    error = None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        try:
            portal_invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as validation_error:
            error = " ".join(validation_error.messages)
        else:
            messages.success(
                request,
                _("Welcome to the %(spa)s partner portal for %(practice)s.")
                % {"spa": invitation.spa.name, "practice": invitation.practice.name},
            )
            return redirect("portal:home", spa_slug=invitation.spa.slug)
    email_matches = request.user.is_authenticated and request.user.email.lower() == invitation.email.lower()
    return render(
        request,
        "portal/invitation.html",
        {"invitation": invitation, "spa": invitation.spa, "error": error, "email_matches": email_matches},
        status=400 if error else 200,
    )
