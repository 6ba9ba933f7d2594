"""Referral attachments: what is accepted, and downloads that are private, audited and never rendered inline."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope
from PIL import Image

from referrals.attachments import attachment_check
from referrals.models import ATTACHMENT_MAX_BYTES

from .spa_helpers import audit_actions, make_referral, page_text, reload, url

PDF = b"%PDF-1.7\n% a tiny but honest PDF header\n%%EOF\n"


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _with_attachment(spa, *, name="Referral letter.pdf", content=PDF, **fields):
    referral = make_referral(spa, **fields)
    with scope(spa=spa):
        referral.attachment.save(name, ContentFile(content), save=False)
        referral.attachment_name = name
        referral.save(update_fields=["attachment", "attachment_name"])
    return reload(referral)


# --- what an attachment may be ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [("a.pdf", PDF), ("b.png", _png()), ("junk-before-header.pdf", b"\r\n\r\n" + PDF)],
)
def test_pdfs_and_real_images_pass(name, content):
    upload = SimpleUploadedFile(name, content)

    assert attachment_check(upload) is upload
    assert upload.read() == content  # left at the start for saving


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("big.pdf", b"%PDF-" + b"x" * ATTACHMENT_MAX_BYTES, "too_large"),
        ("program.pdf", b"MZ\x90\x00" + b"\x00" * 100, "content"),
        ("image.gif", b"GIF89a but truncated nonsense", "content"),
        ("fake.heic", b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00", "content"),
        ("macro.docx", b"PK\x03\x04", "extension"),
        ("page.svg", b"<svg onload='alert(1)'/>", "extension"),
    ],
)
def test_anything_else_is_refused(name, content, code):
    with pytest.raises(ValidationError) as refused:
        attachment_check(SimpleUploadedFile(name, content))

    assert refused.value.code == code


# --- downloads ----------------------------------------------------------------------------------------


def test_a_member_downloads_the_attachment_as_a_file_with_safe_headers(staff_client, spa, staff_user):
    referral = _with_attachment(spa)

    response = staff_client.get(url("attachment", spa, referral.public_id))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="referral-letter.pdf"'  # a slug of the name
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]


def test_every_download_writes_one_audit_event(owner_client, spa, owner):
    referral = _with_attachment(spa)

    owner_client.get(url("attachment", spa, referral.public_id))
    owner_client.get(url("attachment", spa, referral.public_id))

    assert audit_actions(spa) == ["referral.attachment_downloaded"] * 2


def test_an_image_keeps_its_image_type_but_is_still_a_download(owner_client, spa):
    referral = _with_attachment(spa, name="wound.png", content=_png())

    response = owner_client.get(url("attachment", spa, referral.public_id))

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_misleading_original_name_does_not_change_the_download_type(owner_client, spa):
    referral = _with_attachment(spa, name="scan.pdf")
    with scope(spa=spa):
        referral.attachment_name = "scan.html"
        referral.save(update_fields=["attachment_name"])

    response = owner_client.get(url("attachment", spa, referral.public_id))

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="referral-attachment.pdf"'


def test_another_spas_member_gets_404_for_the_attachment(outsider_client, spa, other_spa, client_for, outsider):
    referral = _with_attachment(spa)

    through_our_address = outsider_client.get(url("attachment", spa, referral.public_id))
    through_their_address = outsider_client.get(url("attachment", other_spa, referral.public_id))

    assert through_our_address.status_code == 404
    assert through_their_address.status_code == 404
    assert audit_actions(spa) == [] and audit_actions(other_spa) == []


def test_anonymous_visitors_are_sent_to_sign_in_for_the_attachment(client, spa):
    referral = _with_attachment(spa)

    response = client.get(url("attachment", spa, referral.public_id))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_referral_without_attachment_answers_404(owner_client, spa):
    referral = make_referral(spa)

    assert owner_client.get(url("attachment", spa, referral.public_id)).status_code == 404
    assert audit_actions(spa) == []


def test_a_missing_file_answers_404(owner_client, spa, settings):
    referral = _with_attachment(spa)
    (settings.MEDIA_ROOT / referral.attachment.name).unlink()

    assert owner_client.get(url("attachment", spa, referral.public_id)).status_code == 404


def test_the_page_links_to_the_download_view_never_to_the_stored_file(owner_client, spa):
    referral = _with_attachment(spa)

    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))

    assert url("attachment", spa, referral.public_id) in page
    assert "Referral letter.pdf" in page
    assert referral.attachment.name not in page
    assert "/media/" not in page


def test_the_stored_file_is_not_served_at_a_media_address(owner_client, spa):
    referral = _with_attachment(spa)

    assert owner_client.get(f"/media/{referral.attachment.name}").status_code == 404
