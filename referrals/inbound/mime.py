"""Reading a raw email (RFC 5322 / MIME) into what a draft needs, with Python's ``email`` package (policy=default).

Providers' inbound-parse webhooks send the raw message in one of three shapes: the body itself
(``application/octet-stream`` or ``message/rfc822``), or one field of a form (``email`` as SendGrid's raw mode
sends it, ``body-mime`` as Mailgun's). A form may also carry the envelope's recipients (``envelope``,
``recipient``, ``to``), which matter for a Bcc that names the spa nowhere in the headers. Everything read here
comes from the signed body: headers of the HTTP request are not signed, so they never choose the spa.

The text shown to staff is plain text only — the plain part, or the HTML part reduced to its text — with control
characters removed and its length capped. A message without a sender, or whose MIME structure is broken
(a multipart without its boundary, a truncated part), is refused as malformed rather than guessed at.
"""

import email.errors
import hashlib
import json
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from html.parser import HTMLParser

from .models import BODY_MAX_CHARS, SUBJECT_MAX_CHARS

RAW_CONTENT_TYPES = {"application/octet-stream", "message/rfc822", "text/plain"}
MIME_FIELDS = ("email", "body-mime")
ENVELOPE_FIELDS = ("envelope", "recipient", "to")
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
# A message whose structure is broken in these ways is refused: its parts cannot be told apart reliably.
STRUCTURAL_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
    email.errors.MissingHeaderBodySeparatorDefect,
)
# The standard library's header parser has raised all of these on hostile input.
PARSE_ERRORS = (
    email.errors.MessageError,
    ValueError,
    LookupError,
    IndexError,
    TypeError,
    AttributeError,
    RecursionError,  # parts nested a thousand deep
)
EXTENSIONS_BY_TYPE = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
}
# An address we keep: no spaces or control characters (PostgreSQL refuses a NUL in text), one "@", a dotted domain.
ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
CUT_NOTE = "\n\n[The message was longer; the rest was not kept.]"
NAME_MAX_CHARS = 120


class MalformedMessage(ValueError):
    """The request or the message in it cannot be read; the text says why (no health information in it)."""


class UnsupportedMediaType(ValueError):
    """The request's body is none of the shapes a provider sends."""


@dataclass
class InboundEmail:
    sender: str  # the From address, lower-cased
    sender_name: str
    recipients: list  # every address the message was delivered to, lower-cased, envelope first
    subject: str
    body: str
    message_id: str
    attachments: list = field(default_factory=list)  # [(file name, bytes)]


# --- the HTTP body -----------------------------------------------------------------------------------------


def mime_from_request(content_type, body):
    """(raw message bytes, envelope recipients) from a webhook's body; raises MalformedMessage or
    UnsupportedMediaType."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in RAW_CONTENT_TYPES:
        return body, []
    if media_type == "multipart/form-data":
        fields = _form_data_fields(content_type, body)
    elif media_type == "application/x-www-form-urlencoded":
        fields = {name.decode("latin-1"): value for name, value in urllib.parse.parse_qsl(body, keep_blank_values=True)}
    else:
        raise UnsupportedMediaType(media_type or "none")
    raw = next((fields[name] for name in MIME_FIELDS if fields.get(name)), None)
    if raw is None:
        raise MalformedMessage("The form has no 'email' field with the raw message.")
    return raw, _envelope_recipients(fields)


def _form_data_fields(content_type, body):
    """{field name: bytes} of a multipart/form-data body, read as the MIME it is."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    try:
        form = message_from_bytes(header + body, policy=policy.default)
        fields = {}
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name and name not in fields:
                fields[str(name)] = part.get_payload(decode=True) or b""
    except PARSE_ERRORS as error:
        raise MalformedMessage("The form could not be read.") from error
    if not fields or any(isinstance(defect, STRUCTURAL_DEFECTS) for defect in form.defects):
        raise MalformedMessage("The form could not be read.")
    return fields


def _envelope_recipients(fields):
    """Addresses the provider says it delivered to (SendGrid's JSON ``envelope``, Mailgun's ``recipient``)."""
    found = []
    envelope = fields.get("envelope")
    if envelope:
        try:
            to = json.loads(envelope).get("to") or []
        except (ValueError, AttributeError):
            to = []
        found.extend(str(address) for address in (to if isinstance(to, list) else [to]))
    for name in ("recipient", "to"):
        if fields.get(name):
            found.extend(fields[name].decode("utf-8", "replace").split(","))
    return [address for address in (_bare_address(value) for value in found) if address]


def _bare_address(value):
    match = re.search(r"[^\s<>\"',;\x00-\x1f\x7f]+@[^\s<>\"',;\x00-\x1f\x7f]+", value or "")
    return match.group(0).lower() if match else ""


# --- the message ------------------------------------------------------------------------------------------


def email_from_bytes(raw, envelope_recipients=()):
    """What a draft needs from a raw message; raises MalformedMessage."""
    if not raw or not raw.strip():
        raise MalformedMessage("The message is empty.")
    try:
        message = message_from_bytes(raw, policy=policy.default)
        if any(isinstance(defect, STRUCTURAL_DEFECTS) for part in message.walk() for defect in part.defects):
            raise MalformedMessage("The message's MIME structure is broken.")
        sender, sender_name = _sender(message)
        return InboundEmail(
            sender=sender,
            sender_name=sender_name,
            recipients=[*envelope_recipients, *_header_recipients(message)],
            subject=_one_line(str(message.get("Subject", "") or ""))[:SUBJECT_MAX_CHARS],
            body=_body_text(message),
            message_id=_message_id(message, raw),
            attachments=[_attachment(part, position) for position, part in enumerate(message.iter_attachments(), 1)],
        )
    except MalformedMessage:
        raise
    except PARSE_ERRORS as error:
        raise MalformedMessage("The message could not be read.") from error


def _sender(message):
    header = message.get("From")
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    for address in addresses:
        addr_spec = (address.addr_spec or "").strip().lower()
        if ADDRESS.fullmatch(addr_spec):
            return addr_spec, _one_line(address.display_name or "")[:160]
    raise MalformedMessage("The message has no sender address.")


def _header_recipients(message):
    found = []
    for name in RECIPIENT_HEADERS:
        for header in message.get_all(name, []):
            addresses = getattr(header, "addresses", None)
            if addresses is None:  # Delivered-To and X-Original-To are plain text to the email package
                found.append(_bare_address(str(header)))
            else:
                found.extend((address.addr_spec or "").lower() for address in addresses)
    return [address for address in found if "@" in address]


def _message_id(message, raw):
    value = _one_line(str(message.get("Message-ID", "") or "")).strip()
    # Without one, the message's own bytes name it: the same message delivered twice is still one draft.
    return value[:255] if value else f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _body_text(message):
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: read it as UTF-8, marking what fails
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if not isinstance(text, str):
        return ""
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return clean_text(text)


def _attachment(part, position):
    data = b"" if part.is_multipart() else (part.get_payload(decode=True) or b"")
    return attachment_name(part.get_filename(), part.get_content_type(), position), data


def attachment_name(filename, content_type, position):
    """A file name to keep: the sender's, without folders or control characters, with an extension; or one made
    from the part's type ("attachment-2.pdf")."""
    name = re.split(r"[\\/]", _one_line(filename or ""))[-1].strip(" .")
    if "." not in name:
        extension = EXTENSIONS_BY_TYPE.get((content_type or "").lower(), "bin")
        name = f"{name or f'attachment-{position}'}.{extension}"
    if len(name) > NAME_MAX_CHARS:
        stem, extension = name.rsplit(".", 1)
        name = f"{stem[: NAME_MAX_CHARS - len(extension) - 1]}.{extension}"
    return name


# --- text ---------------------------------------------------------------------------------------------------


def _one_line(value):
    """Control characters and line breaks become spaces; runs of spaces become one."""
    value = "".join(" " if unicodedata.category(character) in ("Cc", "Zl", "Zp") else character for character in value)
    return re.sub(r"\s+", " ", value).strip()


def clean_text(text):
    """Plain text as staff read it: newlines kept, other control characters gone, at most one blank line in a row,
    and cut at BODY_MAX_CHARS (saying so)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = text.replace("\xa0", " ").replace("\u202f", " ")  # no-break spaces (&nbsp;) read as spaces
    text = "".join(
        character for character in text if character == "\n" or unicodedata.category(character) not in ("Cc", "Cf")
    )
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) > BODY_MAX_CHARS:
        text = text[: BODY_MAX_CHARS - len(CUT_NOTE)].rstrip() + CUT_NOTE
    return text


class _TextOfHtml(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"}
    HIDDEN = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden_depth:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html):
    """The words of an HTML message, one block a line; no markup survives (staff never see the sender's HTML)."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return "\n".join(line.strip() for line in "".join(parser.parts).split("\n"))
