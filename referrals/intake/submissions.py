"""One referral per rendered form, however many times it is posted.

A double click, a browser resending a POST, a phone retrying on a bad connection: each would otherwise
create another referral. Every referral form (the partner portal, the landing page, manual entry) carries
a hidden one-time token, drawn when the form is rendered (nothing is stored then). The create claims it:
a ``SubmissionToken`` row, inserted under a unique constraint first thing in the transaction that creates
the referral. A second post of the same token finds the claim — or, when it arrives while the first is
still running, waits on the unique index until the first commits — creates nothing and gets the first
one's success page. A create that fails (a validation error) rolls its claim back, so the corrected form
goes out with the same token.

A claim belongs to one form for one person (``purpose``) and to what was posted (``fingerprint``, a keyed
hash): the same token posted with other details — the Back button, then another patient typed into the
old page — is refused with a message and a fresh token, never silently taken for a repeat.

Tokens are signed (a random part and a keyed hash of it), so a script cannot make one up. The public landing
page refuses posts without a valid token (``submission_token_valid``); the signed-in forms (portal, manual
entry) only deduplicate with it, and take a post without one as a new referral.
"""

import base64
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from ..models import SubmissionToken

FIELD_NAME = "submission_token"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
# Fields that differ between two posts of the same page without the person changing anything.
UNFINGERPRINTED = {"csrfmiddlewaretoken", FIELD_NAME}
# A repeat comes within minutes; a day is plenty (submission_tokens_purge).
TOKEN_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class SubmissionKey:
    """What identifies one post of one rendered form."""

    token: str
    purpose: str
    fingerprint: str


TOKEN_SALT = "referrals.submissions.token"  # noqa: S105 - a key-derivation salt, not a secret
RANDOM_PART_LENGTH = 24


def _token_signature(random_part):
    digest = salted_hmac(TOKEN_SALT, random_part, algorithm="sha256").digest()[:12]
    return base64.urlsafe_b64encode(digest).decode()


def submission_token_new():
    random_part = secrets.token_urlsafe(18)  # 24 characters
    return random_part + _token_signature(random_part)


def submission_token_valid(token):
    """Whether ``token`` is one this site drew (not made up, not cut short)."""
    if not token or not TOKEN_PATTERN.fullmatch(token) or len(token) <= RANDOM_PART_LENGTH:
        return False
    random_part, signature = token[:RANDOM_PART_LENGTH], token[RANDOM_PART_LENGTH:]
    return hmac.compare_digest(signature, _token_signature(random_part))


def _posted_token(request):
    token = (request.POST.get(FIELD_NAME) or "").strip()
    return token if TOKEN_PATTERN.fullmatch(token) else ""


def _fingerprint(request):
    posted = sorted((name, request.POST.getlist(name)) for name in request.POST if name not in UNFINGERPRINTED)
    files = sorted((name, [(f.name, f.size) for f in request.FILES.getlist(name)]) for name in request.FILES)
    payload = json.dumps([posted, files], separators=(",", ":"))
    return salted_hmac("referrals.submissions", payload, algorithm="sha256").hexdigest()


def submission_key(request, *, purpose):
    """The key of this POST (token, who and which form, what was posted); its token is "" when none was sent."""
    return SubmissionKey(token=_posted_token(request), purpose=purpose[:64], fingerprint=_fingerprint(request))


def submission_token_for_form(request, *, spa):
    """The token to render into the form: the posted one while it is still unclaimed (the form is shown again
    with errors), otherwise a new one."""
    token = _posted_token(request) if request.method == "POST" else ""
    if token and not SubmissionToken.objects.filter(spa=spa, token=token).exists():
        return token
    return submission_token_new()


def _claimed_referral(spa, key):
    claim = SubmissionToken.objects.filter(spa=spa, token=key.token).select_related("referral").first()
    if claim is None:
        return None
    if claim.purpose != key.purpose or claim.fingerprint != key.fingerprint or claim.referral is None:
        raise ValidationError(_("This form was already sent with other details. Check them and send the form again."))
    return claim.referral


def submission_replayed(*, spa, key):
    """The referral an earlier post of this very form created, or None (also when the post has no token).

    Raises ValidationError when the token was claimed by a post with other details or for another form.
    """
    if not key.token:
        return None
    return _claimed_referral(spa, key)


def submission_create_once(*, spa, key, create):
    """Run ``create()`` (a referral-creating service) once per key; returns (referral, created).

    The claim is inserted before ``create()`` runs, in the same transaction: a concurrent post of the same
    token blocks on the unique index until this transaction ends, then finds the claim (commit) or takes
    the token itself (rollback).
    """
    if not key.token:
        return create(), True
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = SubmissionToken(spa=spa, token=key.token, purpose=key.purpose, fingerprint=key.fingerprint)
                claim.full_clean(exclude=["referral"], validate_unique=False, validate_constraints=False)
                claim.save()
        except IntegrityError:
            referral = _claimed_referral(spa, key)
            if referral is None:  # cannot happen: the unique token is there, committed
                raise
            return referral, False
        referral = create()
        claim.referral = referral
        claim.save(update_fields=["referral"])
    return referral, True


def submission_tokens_purge(*, spa, now=None):
    """Delete ``spa``'s claims older than a day (a repeat comes within minutes). Returns how many."""
    cutoff = (now or timezone.now()) - TOKEN_LIFETIME
    return SubmissionToken.objects.filter(spa=spa, created_at__lt=cutoff).delete()[0]
