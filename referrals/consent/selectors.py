"""Patient authorizations, the reads: the authorization behind a revocation link, and the one (if any) that
allows sharing outcomes with the referring office right now."""

import hashlib

from django.utils import timezone
from django_scopes import scopes_disabled

from ..models import Authorization


def revocation_token_hash(raw):
    """What is stored of a revocation link's token: its SHA-256, never the token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def authorization_by_revocation_token(raw_token):
    """The authorization behind a patient's revocation link, if the link is genuine and unexpired."""
    with scopes_disabled():
        authorization = (
            Authorization.objects.select_related("spa")
            .filter(revocation_token_hash=revocation_token_hash(raw_token or ""))
            .first()
        )
    if authorization is None or authorization.revocation_token_expires_at <= timezone.now():
        return None
    return authorization


def sharing_authorization_for(*, referral, at=None, lock=False):
    """A valid, unexpired, unrevoked authorization covering outcome sharing with the referring office."""
    queryset = Authorization.objects.filter(spa=referral.spa, referral=referral, allows_outcome_sharing=True)
    if lock:
        queryset = queryset.select_for_update()
    for authorization in queryset.order_by("-signed_at"):
        if authorization.covers_outcome_sharing_with(referral.practice, referral.clinician, at=at):
            return authorization
    return None
