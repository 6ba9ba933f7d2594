"""The two webhook signature schemes: ours for raw email, and Twilio's for text messages.

**Email** (``POST /inbound/email/``): ``X-Inbound-Timestamp`` carries the Unix time of signing and
``X-Inbound-Signature`` is ``sha256=`` + hex(HMAC-SHA256(INBOUND_EMAIL_SECRET, timestamp + "." + body)) over the
exact bytes of the request's body. A timestamp more than five minutes away from our clock is refused, and so is a
signature seen before (``InboundSignature``): a captured request cannot be replayed, now or later.

**Text** (``POST /inbound/sms/``): Twilio's scheme, ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, the URL
Twilio called + every POST parameter's name and value, sorted by name)). It has no timestamp; a replayed message
is recognised by its ``MessageSid`` instead (one draft per message). The URL is our public one (``SITE_URL``)
unless the request's own reads differently behind a proxy; both are tried, with and without a port, as
Twilio's own validator does.
"""

import base64
import hashlib
import hmac
import re
import time
from urllib.parse import urlsplit, urlunsplit

TIMESTAMP_HEADER = "X-Inbound-Timestamp"
SIGNATURE_HEADER = "X-Inbound-Signature"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
TOLERANCE_SECONDS = 300
SIGNATURE_PREFIX = "sha256="
DEFAULT_PORTS = {"https": 443, "http": 80}


class SignatureRefused(Exception):
    """The request is not signed by the provider (``reason``: missing, stale or mismatch)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


# --- email ------------------------------------------------------------------------------------------------


def email_signature(secret, timestamp, body):
    """The ``X-Inbound-Signature`` value for ``body`` signed at ``timestamp`` (what a provider, or a test, sends)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def email_signature_check(*, secret, timestamp, signature, body, now=None):
    """Check the headers' signature of ``body``; returns the digest that names this signature for the replay
    check. Raises SignatureRefused."""
    timestamp, signature = (timestamp or "").strip(), (signature or "").strip()
    if not re.fullmatch(r"[0-9]{1,12}", timestamp) or not signature.startswith(SIGNATURE_PREFIX):
        raise SignatureRefused("missing")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureRefused("stale")
    if not hmac.compare_digest(email_signature(secret, timestamp, body).encode(), signature.lower().encode()):
        raise SignatureRefused("mismatch")
    return hashlib.sha256(f"email:{timestamp}:{signature.lower()}".encode()).hexdigest()


# --- Twilio -------------------------------------------------------------------------------------------------


def twilio_signature(auth_token, url, params):
    """Twilio's signature of a POST to ``url`` with ``params`` ({name: [values]} or {name: value})."""
    data = url
    for name in sorted(params):
        values = params[name]
        for value in sorted(set(values)) if isinstance(values, list | tuple) else [values]:
            data += f"{name}{value}"
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _without_and_with_port(url):
    """The URL without its port and with one (its own, or the scheme's default), as Twilio's validator tries them:
    a proxy may add or drop the port between what Twilio called and what the app sees."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    without = urlunsplit(parts._replace(netloc=host))
    return [without, urlunsplit(parts._replace(netloc=f"{host}:{port}"))] if port else [without]


def twilio_signature_valid(*, auth_token, urls, params, signature):
    """True when ``signature`` is Twilio's for one of ``urls`` (the public one first) and ``params``."""
    signature = (signature or "").strip()
    if not signature:
        return False
    candidates = [variant for url in urls if url for variant in _without_and_with_port(url)]
    return any(
        hmac.compare_digest(twilio_signature(auth_token, url, params).encode(), signature.encode())
        for url in candidates
    )
