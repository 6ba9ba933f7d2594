"""Referral attachments: what an upload may be, and how a stored one is handed to an authorised user.

An attachment is a PDF or an image of at most 10 MB whose content matches its name (a renamed
program is refused). Files live under MEDIA_ROOT/private/ and are only ever served through a
view that checks the tenant, audits the read and sends the file as a download.
"""

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image

from infra.text import download_filename

from .models import ATTACHMENT_EXTENSIONS, ATTACHMENT_MAX_BYTES

PDF_MAGIC = b"%PDF-"
PDF_MAGIC_WINDOW = 1024  # the PDF header may follow a little junk, within the first kilobyte
IMAGE_FORMATS = {"png": {"PNG"}, "jpg": {"JPEG", "MPO"}, "jpeg": {"JPEG", "MPO"}, "webp": {"WEBP"}, "gif": {"GIF"}}
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "heic": "image/heic",
}


def _extension(name):
    return name.rsplit(".", 1)[-1].lower() if "." in (name or "") else ""


def _content_matches(upload, extension):
    upload.seek(0)
    head = upload.read(PDF_MAGIC_WINDOW)
    upload.seek(0)
    if extension == "pdf":
        return PDF_MAGIC in head
    if extension == "heic":
        # ISO base media file: a "ftyp" box naming a HEIF brand. Pillow cannot read HEIC without a plug-in.
        return head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS
    try:
        with Image.open(upload) as image:
            image_format = image.format
            image.verify()
    except Exception:  # Pillow raises many kinds of errors for files that are not images
        return False
    finally:
        upload.seek(0)
    return image_format in IMAGE_FORMATS[extension]


def attachment_check(upload):
    """Refuse anything but a PDF or an image of at most 10 MB whose content matches its name."""
    if upload.size > ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("The file is larger than 10 MB. Attach a smaller scan."), code="too_large")
    extension = _extension(upload.name)
    if extension not in ATTACHMENT_EXTENSIONS:
        raise ValidationError(_("Attach a PDF or an image (PNG, JPEG, WebP, GIF or HEIC)."), code="extension")
    if not _content_matches(upload, extension):
        raise ValidationError(
            _("This file is not a real %(kind)s. Attach the referral as a PDF or an image.")
            % {"kind": extension.upper()},
            code="content",
        )
    return upload


def attachment_response(referral):
    """The stored attachment as a download: never shown inline, never sniffed, never cached."""
    if not referral.attachment:
        raise Http404("No attachment.")
    return file_download_response(referral.attachment, referral.attachment_name, fallback="referral-attachment")


def file_download_response(stored, original_name, *, fallback):
    """A stored private file (a FieldFile) as a download with the same safe headers; ``original_name`` (the
    uploader's or sender's, user text) only lends a slug of itself to the file name."""
    extension = _extension(stored.name)
    try:
        handle = stored.open("rb")
    except FileNotFoundError as error:
        raise Http404("No attachment.") from error
    original = original_name or ""
    stem = original.rsplit(".", 1)[0] if _extension(original) == extension else ""
    filename = download_filename(stem, extension, fallback=fallback)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type=CONTENT_TYPES.get(extension, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
