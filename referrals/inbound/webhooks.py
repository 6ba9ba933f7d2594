"""The two public endpoints providers post to: ``/inbound/email/`` (a signed raw message) and ``/inbound/sms/``
(Twilio's signed inbound-message webhook).

Public and CSRF-exempt: the signature is the credential. Every refusal is a JSON 4xx naming what was wrong, is
logged (without the message's content) and writes nothing. Not set up (no secret, no domain, no token): 503, so a
provider keeps the message and retries rather than dropping it.

Email answers: 201 with the drafts made, 200 when the message was taken before (a provider's retry: same
Message-ID), 400 malformed, 403 unsigned / badly signed / stale, 404 no spa among the recipients, 405 not a POST,
409 the same signature again, 413 too large, 415 not a shape providers send.
Text answers: 200 with TwiML thanking the sender (no health information), also for a MessageSid taken before;
400 missing fields, 403 bad signature, 404 a number no spa has, 405, 413, 415.
"""

import logging
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope

from infra.phones import normalize_phone, without_extension

from . import selectors, services
from .mime import MalformedMessage, UnsupportedMediaType, email_from_bytes, mime_from_request
from .signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SignatureRefused,
    email_signature_check,
    twilio_signature_valid,
)

logger = logging.getLogger(__name__)

SMS_MAX_BYTES = 64 * 1024  # a text and its metadata are a few kilobytes
SIGNATURE_MESSAGES = {
    "missing": "Sign the request: X-Inbound-Timestamp and X-Inbound-Signature: sha256=<hex>.",
    "stale": "The signature's timestamp is more than 5 minutes from our clock.",
    "mismatch": "The signature does not match the body.",
}


def _refused(channel, status, error, detail, **headers):
    logger.warning("Inbound %s refused with %s: %s", channel, status, error)
    response = JsonResponse({"error": error, "detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _too_large(request, limit):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False


# --- email ----------------------------------------------------------------------------------------------------


def _read_email_request(request):
    """The message in the request, checked: (InboundEmail, signature digest), or a refusal (a response)."""
    limit = settings.INBOUND_EMAIL_MAX_BYTES
    too_large = ("email", 413, "too_large", f"The request is larger than {limit} bytes.")
    if _too_large(request, limit):
        return None, _refused(*too_large)
    body = request.read(limit + 1)
    if len(body) > limit:
        return None, _refused(*too_large)
    try:
        digest = email_signature_check(
            secret=settings.INBOUND_EMAIL_SECRET,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
        )
    except SignatureRefused as refusal:
        return None, _refused("email", 403, f"signature_{refusal.reason}", SIGNATURE_MESSAGES[refusal.reason])
    try:
        raw, envelope = mime_from_request(request.headers.get("Content-Type"), body)
        return (email_from_bytes(raw, envelope), digest), None
    except UnsupportedMediaType:
        detail = "Send the raw message as application/octet-stream, or as the form field 'email'."
        return None, _refused("email", 415, "unsupported_media_type", detail)
    except MalformedMessage as error:
        return None, _refused("email", 400, "malformed", str(error))


@csrf_exempt
def inbound_email(request):
    """A provider's signed raw message for one or more spas' referral addresses: a draft in each spa."""
    if request.method != "POST":
        return _refused("email", 405, "method_not_allowed", "POST the signed raw message.", Allow="POST")
    if not (settings.INBOUND_EMAIL_SECRET and selectors.inbound_domain()):
        detail = "Email intake is not set up on this server (INBOUND_DOMAIN, INBOUND_EMAIL_SECRET)."
        return _refused("email", 503, "not_configured", detail, Retry_After="3600")
    checked, refusal = _read_email_request(request)
    if refusal is not None:
        return refusal
    message, digest = checked
    spas = selectors.spas_for_recipients(message.recipients)
    if not spas:
        return _refused("email", 404, "unknown_recipient", "No spa has a referral address among the recipients.")
    try:
        results = services.inbound_email_accept(message=message, spas=spas, signature_digest=digest)
    except services.ReplayedSignature:
        return _refused("email", 409, "replayed", "This signed request was received before.")
    created = any(was_created for _spa, _draft, was_created in results)
    drafts = [
        {"spa": spa.slug, "draft": str(draft.public_id), "created": was_created} for spa, draft, was_created in results
    ]
    return JsonResponse({"drafts": drafts}, status=201 if created else 200)


# --- text messages ---------------------------------------------------------------------------------------------


def _twiml_thanks(spa):
    # Nothing about the patient or the referral: the sender's phone may be shared, and texts are not private.
    text = _("Thanks — %(spa)s received your message and will follow up.") % {"spa": spa.name}
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _signed_by_twilio(request):
    params = {name: request.POST.getlist(name) for name in request.POST}
    return twilio_signature_valid(
        auth_token=settings.TWILIO_AUTH_TOKEN,
        urls=[settings.SITE_URL + request.get_full_path(), request.build_absolute_uri()],
        params=params,
        signature=request.headers.get(TWILIO_SIGNATURE_HEADER),
    )


def _printable(value):
    """A one-line field as kept: control characters (a NUL, which PostgreSQL refuses) and spaces around go."""
    return "".join(character for character in value if character.isprintable()).strip()[:255]


def _number(value):
    try:
        return without_extension(normalize_phone(value)) if value else ""
    except ValidationError:
        return ""


@csrf_exempt
def inbound_sms(request):
    """Twilio's signed inbound message to a spa's referral number: a draft, and a short thank-you in TwiML."""
    if request.method != "POST":
        return _refused("sms", 405, "method_not_allowed", "POST Twilio's inbound-message webhook.", Allow="POST")
    if not settings.TWILIO_AUTH_TOKEN:
        detail = "Text intake is not set up on this server (TWILIO_AUTH_TOKEN)."
        return _refused("sms", 503, "not_configured", detail, Retry_After="3600")
    if _too_large(request, SMS_MAX_BYTES):
        return _refused("sms", 413, "too_large", f"The request is larger than {SMS_MAX_BYTES} bytes.")
    if request.content_type != "application/x-www-form-urlencoded":
        return _refused("sms", 415, "unsupported_media_type", "Send application/x-www-form-urlencoded, as Twilio does.")
    if not _signed_by_twilio(request):
        return _refused("sms", 403, "signature_mismatch", "X-Twilio-Signature does not match this request.")
    fields = {name: _printable(request.POST.get(name, "")) for name in ("From", "To", "MessageSid")}
    missing = [name for name, value in fields.items() if not value]
    if missing:
        return _refused("sms", 400, "missing_fields", f"Missing: {', '.join(missing)}.")
    spa = selectors.spa_for_sms_number(_number(fields["To"]))
    if spa is None:
        return _refused("sms", 404, "unknown_number", "No spa has this referral text number.")
    try:
        media_count = max(0, int(request.POST.get("NumMedia") or 0))
    except ValueError:
        media_count = 0
    with scope(spa=spa):
        services.inbound_sms_accept(
            spa=spa,
            sender=fields["From"],
            body=request.POST.get("Body", ""),
            message_sid=fields["MessageSid"],
            media_count=media_count,
        )
    return _twiml_thanks(spa)
