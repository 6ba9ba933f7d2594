"""Referrals by email: a provider's signed raw message becomes a draft (never a referral), with the sender matched,
the text and the attachments kept privately; every bad input is a clear 4xx that writes nothing."""

import io
import json
import logging
import time

import pypdf
import pytest
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from django_scopes import scope

from infra.models import OutgoingEmail
from referrals.inbound import services
from referrals.inbound.mime import CUT_NOTE
from referrals.models import InboundDraftAttachment, InboundReferralDraft, Referral

from ..factories import ClinicianFactory, OfficeContactFactory, UserFactory
from .inbound_helpers import (
    INBOUND_DOMAIN,
    NOTHING,
    inbound_rows,
    multipart_form,
    pdf_attachment,
    png_attachment,
    png_bytes,
    post_email,
    referral_email,
    referral_pdf,
    signed_headers,
    stored_inbound_files,
)
from .portal_helpers import give_portal_access
from .spa_helpers import audit_actions, count, make_practice, rows

FRONT_DESK = "frontdesk@brookline-derm.example"


@pytest.fixture
def derm(spa):
    practice = make_practice(spa, name="Brookline Dermatology", specialty="dermatology")
    with scope(spa=spa):
        OfficeContactFactory(
            spa=spa, practice=practice, name="Frida Frontdesk", email="FrontDesk@Brookline-Derm.example"
        )
    return practice


def _only_draft(spa):
    drafts = rows(InboundReferralDraft, spa=spa)
    assert len(drafts) == 1
    return drafts[0]


# --- the happy path ------------------------------------------------------------------------------------------


def test_a_signed_email_with_a_pdf_becomes_a_draft_with_its_attachments_and_no_referral(
    inbound, client, spa, derm, owner_client
):
    message = referral_email(spa, attachments=[pdf_attachment(), png_attachment()])

    response = post_email(client, message)

    assert response.status_code == 201, response.content
    draft = _only_draft(spa)
    assert response.json() == {"drafts": [{"spa": spa.slug, "draft": str(draft.public_id), "created": True}]}
    assert (draft.channel, draft.status, draft.sender) == ("email", "pending", FRONT_DESK)
    assert draft.sender_name == "Brookline Dermatology Front Desk"
    assert (draft.practice_id, draft.contact.name, draft.needs_review) == (derm.pk, "Frida Frontdesk", False)
    assert draft.subject == "New referral"
    assert "Patient: Jane Doe" in draft.body
    assert draft.provider_message_id == message["Message-ID"]
    # Nothing has reached anyone: no referral, no email to staff or patient.
    assert count(Referral, spa=spa) == 0
    assert count(OutgoingEmail) == 0
    assert audit_actions(spa) == ["inbound_draft.received"]
    # The attachments are stored privately and read back only through the spa's scoped, audited view.
    attachments = rows(InboundDraftAttachment, draft=draft)
    assert [(a.name, a.size) for a in attachments] == [
        ("Referral form.pdf", len(referral_pdf())),
        ("Wound photo.png", len(png_bytes())),
    ]
    assert all(a.file.name.startswith(f"private/inbound/{spa.public_id}/") for a in attachments)
    download = owner_client.get(
        reverse("inbound:attachment", args=[spa.slug, draft.public_id, attachments[0].public_id])
    )
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert content == referral_pdf()
    assert "Referral letter" in pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert download["Content-Disposition"] == 'attachment; filename="referral-form.pdf"'
    assert audit_actions(spa)[-1] == "inbound_draft.attachment_downloaded"


def test_a_clinicians_address_matches_the_clinician_and_the_practice(inbound, client, spa, derm):
    with scope(spa=spa):
        clinician = ClinicianFactory(spa=spa, practice=derm, last_name="Patel", email="dr.patel@brookline-derm.example")

    post_email(client, referral_email(spa, sender="Dr.Patel@brookline-derm.example"))

    draft = _only_draft(spa)
    assert (draft.practice_id, draft.clinician_id, draft.contact_id, draft.needs_review) == (
        derm.pk,
        clinician.pk,
        None,
        False,
    )


def test_a_portal_users_address_matches_their_practice(inbound, client, spa, derm):
    give_portal_access(derm, UserFactory(email="office.manager@brookline-derm.example"))

    post_email(client, referral_email(spa, sender="office.manager@brookline-derm.example"))

    assert (_only_draft(spa).practice_id, _only_draft(spa).needs_review) == (derm.pk, False)


def test_an_unknown_sender_is_flagged_for_review(inbound, client, spa, derm):
    response = post_email(client, referral_email(spa, sender="someone@gmail.example"))

    assert response.status_code == 201
    draft = _only_draft(spa)
    assert (draft.practice, draft.clinician, draft.contact, draft.needs_review) == (None, None, None, True)


def test_an_address_shared_by_two_practices_is_left_for_a_person(inbound, client, spa, derm):
    other = make_practice(spa, name="Brookline Plastic Surgery", specialty="plastic_surgery")
    with scope(spa=spa):
        OfficeContactFactory(spa=spa, practice=other, email=FRONT_DESK)

    post_email(client, referral_email(spa))

    assert (_only_draft(spa).practice, _only_draft(spa).needs_review) == (None, True)


def test_another_spas_contact_with_the_same_address_is_not_a_match(inbound, client, spa, other_spa):
    foreign = make_practice(other_spa, name="Outsider Dermatology")
    with scope(spa=other_spa):
        OfficeContactFactory(spa=other_spa, practice=foreign, email=FRONT_DESK)

    post_email(client, referral_email(spa))

    assert (_only_draft(spa).practice, _only_draft(spa).needs_review) == (None, True)
    assert count(InboundReferralDraft, spa=other_spa) == 0


def test_one_email_to_two_spas_makes_a_draft_in_each_matched_in_its_own_spa(inbound, client, spa, other_spa, derm):
    message = referral_email(spa, to=f"{spa.slug}@{INBOUND_DOMAIN}, {other_spa.slug}@{INBOUND_DOMAIN.upper()}")

    response = post_email(client, message)

    assert response.status_code == 201
    assert [row["spa"] for row in response.json()["drafts"]] == [spa.slug, other_spa.slug]
    assert _only_draft(spa).practice_id == derm.pk
    assert (_only_draft(other_spa).practice, _only_draft(other_spa).needs_review) == (None, True)


def test_a_tagged_address_reaches_the_spa(inbound, client, spa):
    response = post_email(client, referral_email(spa, to=f"Serene <{spa.slug}+fax@{INBOUND_DOMAIN}>"))

    assert response.status_code == 201
    assert count(InboundReferralDraft, spa=spa) == 1


def test_an_html_only_message_is_kept_as_plain_text_without_its_markup(inbound, client, spa):
    message = referral_email(spa)
    message.set_content(
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>Patient: <b>Jane&nbsp;Doe</b></p><p>Call her &amp; book a facial.</p></body></html>",
        subtype="html",
    )

    post_email(client, message)

    body = _only_draft(spa).body
    assert body == "Patient: Jane Doe\n\nCall her & book a facial."


def test_a_long_message_is_cut_and_says_so(inbound, client, spa):
    post_email(client, referral_email(spa, text="Details. " * 3000))

    body = _only_draft(spa).body
    assert len(body) == 10_000
    assert body.endswith(CUT_NOTE.strip())


# --- the shapes providers send ---------------------------------------------------------------------------------


def test_the_raw_message_as_a_form_field_with_the_envelope_of_a_bcc(inbound, client, spa, derm):
    message = referral_email(spa, to="colleague@brookline-derm.example", attachments=[pdf_attachment()])
    body, content_type = multipart_form(
        {"envelope": json.dumps({"to": [f"{spa.slug}@{INBOUND_DOMAIN}"], "from": FRONT_DESK}), "email": bytes(message)}
    )

    response = post_email(client, body, content_type=content_type)

    assert response.status_code == 201, response.content
    draft = _only_draft(spa)
    assert draft.practice_id == derm.pk
    assert [a.name for a in rows(InboundDraftAttachment, draft=draft)] == ["Referral form.pdf"]


def test_the_raw_message_as_a_url_encoded_field(inbound, client, spa):
    from urllib.parse import urlencode

    body = urlencode({"body-mime": bytes(referral_email(spa)), "recipient": f"{spa.slug}@{INBOUND_DOMAIN}"}).encode()

    response = post_email(client, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 201, response.content
    assert "Jane Doe" in _only_draft(spa).body


# --- retries and replays ---------------------------------------------------------------------------------------


def test_a_providers_retry_of_the_same_message_creates_nothing_new(inbound, client, spa):
    message = referral_email(spa, attachments=[pdf_attachment()])
    first = post_email(client, message)
    files = stored_inbound_files()

    retry = post_email(client, message, timestamp=int(time.time()) + 1)  # signed again, a second later

    assert retry.status_code == 200
    assert retry.json()["drafts"] == [{**first.json()["drafts"][0], "created": False}]
    assert count(InboundReferralDraft, spa=spa) == 1
    assert stored_inbound_files() == files
    assert audit_actions(spa) == ["inbound_draft.received"]


def test_a_replayed_signature_is_refused_and_writes_nothing(inbound, client, spa):
    body = bytes(referral_email(spa))
    headers = signed_headers(body)
    assert post_email(client, body, headers=headers).status_code == 201
    before = inbound_rows()

    replay = post_email(client, body, headers=headers)

    assert replay.status_code == 409
    assert replay.json()["error"] == "replayed"
    assert inbound_rows() == before


def test_a_message_without_message_id_is_still_taken_once(inbound, client, spa):
    message = referral_email(spa)
    del message["Message-ID"]

    assert post_email(client, message).status_code == 201
    assert post_email(client, message, timestamp=int(time.time()) + 1).status_code == 200
    assert _only_draft(spa).provider_message_id.startswith("sha256:")


# --- attachments that are not kept ---------------------------------------------------------------------------


def test_attachments_that_are_not_a_pdf_or_an_image_are_listed_and_not_kept(inbound, client, spa):
    program = b"MZ\x90\x00" + b"\x00" * 200
    message = referral_email(
        spa,
        attachments=[
            pdf_attachment(),
            ("notes.docx", b"PK\x03\x04 not really", "application", "octet-stream"),
            ("scan.pdf", program, "application", "pdf"),
        ],
    )

    assert post_email(client, message).status_code == 201

    draft = _only_draft(spa)
    assert [a.name for a in rows(InboundDraftAttachment, draft=draft)] == ["Referral form.pdf"]
    assert [refused["name"] for refused in draft.attachments_refused] == ["notes.docx", "scan.pdf"]
    assert "PDF or an image" in draft.attachments_refused[0]["reason"]
    assert "not a real PDF" in draft.attachments_refused[1]["reason"]
    assert len(stored_inbound_files()) == 1


def test_a_failure_after_files_were_written_leaves_no_file_and_no_row(inbound, spa, monkeypatch):
    from referrals.inbound.mime import email_from_bytes

    message = email_from_bytes(bytes(referral_email(spa, attachments=[pdf_attachment(), png_attachment()])))

    def broken_audit(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        services.inbound_email_accept(message=message, spas=[spa], signature_digest="d" * 64)

    assert inbound_rows() == NOTHING
    assert stored_inbound_files() == []


def test_a_clean_up_the_storage_refuses_does_not_hide_the_error_that_caused_it(inbound, spa, monkeypatch, caplog):
    from referrals.inbound.mime import email_from_bytes

    message = email_from_bytes(bytes(referral_email(spa, attachments=[pdf_attachment(), png_attachment()])))

    class DatabaseWentAway(Exception):
        pass

    def broken_audit(**kwargs):
        raise DatabaseWentAway()

    def bucket_refuses(storage, name):
        raise RuntimeError("AccessDenied")  # a bucket's error is no OSError

    monkeypatch.setattr(services, "audit_record", broken_audit)
    monkeypatch.setattr(FileSystemStorage, "delete", bucket_refuses)
    with pytest.raises(DatabaseWentAway):
        services.inbound_email_accept(message=message, spas=[spa], signature_digest="d" * 64)

    assert inbound_rows() == NOTHING
    failures = [record for record in caplog.records if record.getMessage().startswith("Could not delete")]
    assert len(failures) == 2  # both were tried, and each is named for an operator


# --- bad input: a clear 4xx, logged, nothing written ------------------------------------------------------------


def _minus(seconds):
    return int(time.time()) - seconds


BAD_REQUESTS = {
    "unsigned": (lambda spa: {"headers": {}}, 403, "signature_missing"),
    "another secret": (lambda spa: {"secret": "not-the-secret"}, 403, "signature_mismatch"),
    "stale timestamp": (lambda spa: {"timestamp": _minus(301)}, 403, "signature_stale"),
    "timestamp from the future": (lambda spa: {"timestamp": _minus(-400)}, 403, "signature_stale"),
    "not an email": (lambda spa: {"body": b"hello, this is not an email at all"}, 400, "malformed"),
    "blank body": (lambda spa: {"body": b"\r\n  \r\n"}, 400, "malformed"),
    "no sender": (
        lambda spa: {"body": b"To: x@" + INBOUND_DOMAIN.encode() + b"\r\nSubject: hi\r\n\r\nbody"},
        400,
        "malformed",
    ),
    "multipart without its boundary": (
        lambda spa: {
            "body": (
                f"From: a@b.example\r\nTo: {spa.slug}@{INBOUND_DOMAIN}\r\nMIME-Version: 1.0\r\n"
                'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\nno parts here at all\r\n'
            ).encode()
        },
        400,
        "malformed",
    ),
    "unknown spa": (lambda spa: {"to": f"no-such-spa@{INBOUND_DOMAIN}"}, 404, "unknown_recipient"),
    "not our domain": (lambda spa: {"to": f"{spa.slug}@elsewhere.example"}, 404, "unknown_recipient"),
    "json": (lambda spa: {"content_type": "application/json"}, 415, "unsupported_media_type"),
    "a form without the message": (lambda spa: {"form": {"subject": "hi"}}, 400, "malformed"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_requests_are_refused_clearly_and_write_nothing(inbound, client, spa, derm, case, caplog):
    build, status, error = BAD_REQUESTS[case]
    options = build(spa)
    body = options.pop("body", None)
    if body is None:
        body = bytes(referral_email(spa, to=options.pop("to", None), attachments=[pdf_attachment()]))
    if "form" in options:
        body, options["content_type"] = multipart_form(options.pop("form"))

    with caplog.at_level(logging.WARNING, logger="referrals.inbound.webhooks"):
        response = post_email(client, body, **options)

    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert inbound_rows() == NOTHING
    assert stored_inbound_files() == []
    assert audit_actions(spa) == []
    assert f"refused with {status}: {error}" in caplog.text
    assert "Jane" not in caplog.text  # the log never carries the message's content


def test_a_body_changed_after_signing_is_refused(inbound, client, spa):
    body = bytes(referral_email(spa))
    headers = signed_headers(body)

    response = post_email(client, body.replace(b"Jane Doe", b"John Roe"), headers=headers)

    assert (response.status_code, response.json()["error"]) == (403, "signature_mismatch")
    assert inbound_rows() == NOTHING


def test_an_oversized_request_is_refused_413(inbound, client, spa, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 4_000
    body = bytes(referral_email(spa, attachments=[("big.png", png_bytes((60, 60), noisy=True), "image", "png")]))
    assert len(body) > 4_000

    response = post_email(client, body)

    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    assert inbound_rows() == NOTHING
    assert stored_inbound_files() == []


def test_an_oversized_content_length_is_refused_before_reading(inbound, client, spa, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 1_000
    body = bytes(referral_email(spa))

    response = client.generic(
        "POST", "/inbound/email/", body[:500], content_type="message/rfc822", CONTENT_LENGTH="5000000"
    )

    assert response.status_code == 413


def test_the_default_size_cap_takes_two_large_scans(settings):
    assert settings.INBOUND_EMAIL_MAX_BYTES == 25 * 1024 * 1024


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_only_post_is_answered(inbound, client, method):
    response = getattr(client, method)("/inbound/email/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("missing", ["INBOUND_DOMAIN", "INBOUND_EMAIL_SECRET"])
def test_a_server_without_email_intake_answers_503_so_the_provider_retries(inbound, client, spa, settings, missing):
    setattr(settings, missing, "")

    response = post_email(client, referral_email(spa))

    assert response.status_code == 503
    assert response["Retry-After"] == "3600"
    assert response.json()["error"] == "not_configured"
    assert inbound_rows() == NOTHING


# --- hostile input, signed (a provider passes on whatever it was sent) ------------------------------------------------

HOSTILE = {
    "a NUL in the sender": b"From: fr\x00ont@clinic.example\r\nTo: {to}\r\n\r\nhi",
    "a NUL in the recipient": b"From: front@clinic.example\r\nTo: serene-te\x00st@{domain}\r\n\r\nhi",
    "NULs everywhere else": (
        b"From: =?utf-8?q?Fr=00ida?= <front@clinic.example>\r\nTo: {to}\r\nSubject: a\x00b\r\n"
        b"Message-ID: <x\x00y@clinic.example>\r\n\r\nPatient: Jane\x00 Doe"
    ),
    "random bytes": bytes(range(256)) * 40,
    "a header a megabyte long": b"From: front@clinic.example\r\nTo: {to}\r\nX-Long: "
    + b"a" * 1_000_000
    + b"\r\n\r\nhi",
    "a thousand nested multiparts": (
        b"From: front@clinic.example\r\nTo: {to}\r\nMIME-Version: 1.0\r\n"
        + b"".join(f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n'.encode() for n in range(1000))
        + b"Content-Type: text/plain\r\n\r\ndeep"
    ),
    "an attachment with a lying charset and no name": (
        b"From: front@clinic.example\r\nTo: {to}\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="Q"\r\n\r\n--Q\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\n'
        b"\xff\xfe text\r\n--Q\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!notbase64\r\n"
        b"--Q--\r\n"
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_messages_never_get_a_server_error(inbound, client, spa, case):
    body = (
        HOSTILE[case]
        .replace(b"{to}", f"{spa.slug}@{INBOUND_DOMAIN}".encode())
        .replace(b"{domain}", INBOUND_DOMAIN.encode())
    )

    response = post_email(client, body)

    assert response.status_code in (200, 201, 400, 404), response.content
    for draft in rows(InboundReferralDraft, spa=spa):
        assert "\x00" not in draft.sender + draft.sender_name + draft.subject + draft.body + draft.provider_message_id
