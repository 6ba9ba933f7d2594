"""Makers shared by the tests of referrals by email and text: real messages, signed posts, the rows they leave."""

import io
import os
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from PIL import Image

from infra.pdf import render_html_to_pdf
from referrals.inbound.signatures import email_signature, twilio_signature

from .spa_helpers import count

INBOUND_DOMAIN = "in.spa-referrals.example"
EMAIL_SECRET = "test-inbound-secret-8f2c"
TWILIO_TOKEN = "test-twilio-auth-token-31d9"
PUBLIC_SITE = "https://referrals.example.com"
EMAIL_URL = "/inbound/email/"
SMS_URL = "/inbound/sms/"


def set_up_inbound(settings):
    """The server set up for email and text intake (the ``inbound`` fixture)."""
    settings.INBOUND_DOMAIN = INBOUND_DOMAIN
    settings.INBOUND_EMAIL_SECRET = EMAIL_SECRET
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.SITE_URL = PUBLIC_SITE
    return settings


_PDF_CACHE = {}


def referral_pdf():
    """A real one-page PDF, rendered by the project's own PDF code (once per test process)."""
    if "pdf" not in _PDF_CACHE:
        _PDF_CACHE["pdf"] = render_html_to_pdf(
            "<h1>Referral letter</h1><p>Please see our patient for post-procedure skin care.</p>"
        ).content
    return _PDF_CACHE["pdf"]


def png_bytes(size=(6, 6), *, noisy=False):
    """A real PNG; ``noisy`` ones do not compress (to make a big one)."""
    buffer = io.BytesIO()
    if noisy:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (40, 120, 160))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def referral_email(
    spa,
    *,
    sender="frontdesk@brookline-derm.example",
    sender_name="Brookline Dermatology Front Desk",
    subject="New referral",
    text="Patient: Jane Doe\nPhone: (617) 555-0142\n\nPost-procedure skin care, please call her this week.",
    attachments=(),
    to=None,
    message_id=None,
    html=None,
):
    """A real email (EmailMessage, multipart when it has attachments) to the spa's referral address."""
    message = EmailMessage()
    message["From"] = f"{sender_name} <{sender}>" if sender_name else sender
    message["To"] = to or f"{spa.slug}@{INBOUND_DOMAIN}"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="brookline-derm.example")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for name, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def pdf_attachment(name="Referral form.pdf"):
    return (name, referral_pdf(), "application", "pdf")


def png_attachment(name="Wound photo.png"):
    return (name, png_bytes(), "image", "png")


def signed_headers(body, *, secret=EMAIL_SECRET, timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Inbound-Timestamp": timestamp, "X-Inbound-Signature": email_signature(secret, timestamp, body)}


def post_email(client, body, *, content_type="application/octet-stream", headers=None, **sign):
    """POST ``body`` (bytes; an EmailMessage is sent as its bytes) to the email webhook, signed unless
    ``headers`` says otherwise."""
    if isinstance(body, EmailMessage):
        body = bytes(body)
    headers = signed_headers(body, **sign) if headers is None else headers
    return client.generic("POST", EMAIL_URL, body, content_type=content_type, headers=headers)


def multipart_form(fields, boundary="----inbound-form-7Mq2"):
    """A multipart/form-data body (as providers post their parse webhooks) and its Content-Type."""
    parts = []
    for name, value in fields.items():
        value = value if isinstance(value, bytes) else value.encode()
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def twilio_params(spa_number, *, sender="+16175550142", body="Referral: Jane Doe, 617-555-0199", sid=None, **extra):
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid or "SM0123456789abcdef0123456789abcdef",
        "NumMedia": "0",
        "From": sender,
        "To": spa_number,
        "Body": body,
        "MessageSid": sid or "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC00000000000000000000000000000000",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def post_sms(client, params, *, token=TWILIO_TOKEN, url=None, signature=None):
    """POST Twilio's inbound-message webhook, signed as Twilio signs it (for the public URL unless ``url``)."""
    signature = signature if signature is not None else twilio_signature(token, url or PUBLIC_SITE + SMS_URL, params)
    return client.generic(
        "POST",
        SMS_URL,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def stored_inbound_files():
    """Files under MEDIA_ROOT/private/inbound/ (the drafts' attachments)."""
    root = Path(settings.MEDIA_ROOT) / "private" / "inbound"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def inbound_rows():
    """How many drafts, attachments and seen signatures exist (for "nothing was written")."""
    from referrals.models import InboundDraftAttachment, InboundReferralDraft, InboundSignature

    return {
        "drafts": count(InboundReferralDraft),
        "attachments": count(InboundDraftAttachment),
        "signatures": InboundSignature.objects.count(),
    }


NOTHING = {"drafts": 0, "attachments": 0, "signatures": 0}
