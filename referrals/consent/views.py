"""Spa-side authorizations on a referral: record one signed on paper at the spa, revoke one at the patient's
request. Both are mounted under /s/<spa_slug>/referrals/<referral_id>/consent/ and audited by the services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error

from .. import services
from ..models import Authorization
from ..views import detail_context, in_spa_timezone, referral_or_404
from .forms import AuthorizationPaperForm
from .services import authorization_create, authorization_revoke


@require_POST
@in_spa_timezone
def authorization_record(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    form = AuthorizationPaperForm(request.POST, request.FILES, auto_id="consent_%s")
    if form.is_valid():
        try:
            authorization_create(
                referral=referral,
                signature_method=Authorization.SignatureMethod.PAPER,
                signer_name=form.cleaned_data["signer_name"],
                allows_outcome_sharing=form.cleaned_data["allows_outcome_sharing"],
                expires_at=form.expires_at(),
                signed_form=form.cleaned_data["signed_form"],
                recorded_by=request.user,
                recorded_by_label=f"{request.user.display_name} <{request.user.email}>",
                request=request,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("The authorization was recorded."))
            return redirect("referrals:detail", spa_slug=spa_slug, referral_id=referral.public_id)
    # The whole page is drawn again with the refused form open: that is a view of the referral too.
    services.referral_record_view(referral=referral, actor=request.user, channel="spa")
    context = {**detail_context(referral), "consent_form": form}
    return render(request, "referrals/detail.html", context, status=400)


@require_POST
def authorization_revoke_view(request, spa_slug, referral_id, authorization_id):
    referral = referral_or_404(request, referral_id)
    authorization = Authorization.objects.filter(spa=request.spa, referral=referral, public_id=authorization_id).first()
    if authorization is None:
        raise Http404("No such authorization.")
    if authorization.revoked_at is None:
        authorization_revoke(authorization=authorization, channel="staff", actor=request.user)
        messages.success(request, _("The authorization was revoked. Nothing more will be shared under it."))
    return redirect("referrals:detail", spa_slug=spa_slug, referral_id=referral.public_id)
