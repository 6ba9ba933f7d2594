"""Public pages for patients: the landing page behind a referral pad's code (/r/<code>), and the link in their
confirmation email that shows and revokes the authorization they signed there."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_scopes import scope

from infra.forms import apply_validation_error
from spas.catalog import current_offers, services_for_specialty

from ..consent.selectors import authorization_by_revocation_token
from ..consent.services import authorization_revoke, consent_preview
from ..services import first_contact_business_days
from .forms import LandingForm
from .limits import (
    LOOKUP_WINDOW_SECONDS,
    RATE_WINDOW_SECONDS,
    landing_lookup_count,
    landing_lookup_limited,
    landing_rate_count,
    landing_rate_limited,
)
from .selectors import normalized_code, referral_code_resolve
from .services import landing_referral_create
from .submissions import (
    submission_create_once,
    submission_key,
    submission_replayed,
    submission_token_for_form,
    submission_token_valid,
)


def _not_found(request, *, typed="", error=""):
    # Same page for every unknown code: whether a code ever existed is nobody's business. It offers a box to
    # type the code from the card (a QR code scanned badly, a link copied incompletely).
    return render(request, "landing/not_found.html", {"typed": typed, "error": error}, status=404)


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


def _lookup(request, code):
    """The code's ReferralCode, counted against the client's lookup allowance; raises _Refused with the page to
    send instead (429 when the allowance is used up, before the code is even looked at; 404 when unknown)."""
    if landing_lookup_limited(request):
        response = render(request, "landing/lookups_limited.html", status=429)
        response["Retry-After"] = str(LOOKUP_WINDOW_SECONDS)
        raise _Refused(response)
    referral_code = referral_code_resolve(code)
    landing_lookup_count(request, found=referral_code is not None)
    if referral_code is None:
        raise _Refused(_not_found(request))
    return referral_code


def _missing_token_error(form):
    form.add_error(None, _("We could not accept the form as it was sent. Check your details below and send it again."))


@require_http_methods(["GET", "POST"])
def landing(request, code):
    try:
        referral_code = _lookup(request, code)
    except _Refused as refused:
        return refused.response
    spa, practice = referral_code.spa, referral_code.practice
    with scope(spa=spa):
        if request.method == "POST":
            key = submission_key(request, purpose=f"landing:{referral_code.pk}")
            try:
                replayed = submission_replayed(spa=spa, key=key)
            except ValidationError:
                replayed = None  # the same token with other details: the form below says so
            if replayed is not None:
                # This very form was sent already (a double tap, a resend): the same page, and no second count.
                return redirect("public:landing_thanks", code=referral_code.code)
            if landing_rate_limited(request):
                response = render(request, "landing/rate_limited.html", {"spa": spa}, status=429)
                response["Retry-After"] = str(RATE_WINDOW_SECONDS)
                return response
            form = LandingForm(request.POST, spa=spa, practice=practice)
            if not submission_token_valid(key.token):
                # A post without the page's token (a script, or a page from before the token) creates nothing;
                # the patient gets their form back, filled in, with a fresh token.
                form.is_valid()
                _missing_token_error(form)
            elif form.is_spam:
                # Look exactly like success so the bot learns nothing; nothing is stored.
                landing_rate_count(request)
                return redirect("public:landing_thanks", code=referral_code.code)
            if form.is_valid():
                try:
                    _referral, created = submission_create_once(
                        spa=spa,
                        key=key,
                        create=lambda: landing_referral_create(
                            referral_code=referral_code,
                            patient=form.patient(),
                            details=form.details(),
                            sharing_signer_name=form.sharing_signature(),
                            request=request,
                        ),
                    )
                except ValidationError as error:
                    apply_validation_error(form, error)
                else:
                    if created:
                        landing_rate_count(request)
                    return redirect("public:landing_thanks", code=referral_code.code)
        else:
            form = LandingForm(spa=spa, practice=practice)
        context = {
            "spa": spa,
            "practice": practice,
            "clinician": referral_code.clinician,
            "code": referral_code.code,
            "offers": current_offers(spa=spa, specialty=practice.specialty),
            "services": services_for_specialty(spa=spa, specialty=practice.specialty),
            "form": form,
            "consent_text": consent_preview(spa=spa, practice=practice, clinician=referral_code.clinician),
            "submission_token": submission_token_for_form(request, spa=spa),
        }
        return render(request, "landing/landing.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET"])
def landing_code_entry(request):
    """The box on the unknown-code page: /r/?code=KM7 QXZ goes to /r/KM7QXZ. Typing codes counts against the
    same per-client lookup allowance as opening /r/<code> (and the page it leads to counts again)."""
    if landing_lookup_limited(request):
        response = render(request, "landing/lookups_limited.html", status=429)
        response["Retry-After"] = str(LOOKUP_WINDOW_SECONDS)
        return response
    typed = (request.GET.get("code") or "").strip()
    code = normalized_code(typed)
    if not code:
        error = (
            _("Type the code printed on your referral card.")
            if not typed
            else _("Check the code: use only letters and digits.")
        )
        landing_lookup_count(request, found=False)
        return _not_found(request, typed=typed, error=error)
    return redirect("public:landing", code=code)


def landing_thanks(request, code):
    """The confirmation: nothing about the patient, only what happens next."""
    try:
        referral_code = _lookup(request, code)
    except _Refused as refused:
        return refused.response
    spa = referral_code.spa
    with scope(spa=spa):
        business_days = first_contact_business_days(spa)
    return render(
        request,
        "landing/thanks.html",
        {"spa": spa, "practice": referral_code.practice, "business_days": business_days},
    )


@require_http_methods(["GET", "POST"])
def consent_revoke(request, token):
    """The link in the patient's confirmation email: see what they authorized and withdraw it, at once."""
    authorization = authorization_by_revocation_token(token)
    if authorization is None:
        return render(request, "landing/consent_link_not_found.html", status=404)
    spa = authorization.spa
    with scope(spa=spa):
        just_revoked = False
        if request.method == "POST" and authorization.revoked_at is None:
            authorization = authorization_revoke(authorization=authorization, channel="patient_link")
            just_revoked = True
        return render(
            request,
            "landing/consent_revoke.html",
            {"spa": spa, "authorization": authorization, "just_revoked": just_revoked},
        )
