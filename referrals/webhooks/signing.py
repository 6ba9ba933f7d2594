"""Webhook secrets and signatures (Standard Webhooks, https://www.standardwebhooks.com).

A secret is ``whsec_`` + base64 of 32 random bytes. We must read it back to sign, so (unlike an API key, of
which only a hash is kept) it is stored encrypted: Fernet under a key derived from ``SECRET_KEY``. A database
dump or backup alone does not give the secrets away; rotating ``SECRET_KEY`` keeps them readable as long as the
old key stays in ``SECRET_KEY_FALLBACKS``, as Django's own signatures do.

Signing is the maintained ``standardwebhooks`` package: ``v1,`` + base64 of HMAC-SHA256 over
``{webhook-id}.{webhook-timestamp}.{body}`` with the base64-decoded secret.
"""

import base64
import secrets
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
KEY_SALT = "referrals.webhooks.signing.secret-encryption"


class UnreadableSecret(Exception):
    """The stored secret cannot be decrypted: ``SECRET_KEY`` changed and the old one is not a fallback."""


def secret_new():
    """A new endpoint secret, as shown to the owner once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet(secret_key):
    key = salted_hmac(KEY_SALT, "fernet", secret=secret_key, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _fernets():
    """The current key first (it encrypts), then the fallbacks (they only decrypt)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def secret_encrypt(secret):
    return _fernets().encrypt(secret.encode()).decode()


def secret_decrypt(token):
    try:
        return _fernets().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise UnreadableSecret("The endpoint's secret cannot be read with the current SECRET_KEY.") from error


def signature_headers(*, message_id, timestamp, body, secrets_in_use):
    """The three Standard Webhooks headers for ``body`` (text, exactly as sent). ``secrets_in_use`` are the
    ``whsec_`` secrets to sign with: the current one, and during a rotation the previous one as well, each
    signature separated by a space."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    signatures = [Webhook(secret).sign(msg_id=message_id, timestamp=moment, data=body) for secret in secrets_in_use]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signatures),
    }
