"""Object storage (issue 17 §1): with a bucket configured, uploads and generated documents live in it, never on
local disk; they leave only through the scoped, audited views; an erasure deletes them from the bucket; another
spa's people get 404 and anonymous visitors the sign-in page. Against a real S3-protocol server (conftest.py)."""

import io
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from PIL import Image
from pypdf import PdfReader

from infra.models import AuditEvent, GeneratedDocument
from infra.storage import PrivateS3Storage
from outreach.models import LetterBatch
from referrals.models import Authorization, Referral
from referrals.pads.documents import logo_data_uri

from ..factories import LetterTemplateFactory, PracticeFactory, ReferralCodeFactory
from .conftest import REGION, s3_storage_setting

PDF = b"%PDF-1.7\n% a scanned referral letter\n%%EOF\n"
SIGNED = b"%PDF-1.7\n% the signed authorization\n%%EOF\n"


def _png(colour="teal"):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _referral_url(name, spa, referral):
    return reverse(f"referrals:{name}", args=[spa.slug, referral.public_id])


def _manual_entry(practice, **extra):
    return {
        "channel": "phone",
        "practice": str(practice.public_id),
        "patient_first_name": "Maria",
        "patient_last_name": "Lopez",
        "patient_phone": "617-555-0142",
        "preferred_contact_method": "phone",
        "reason_category": "post_procedure_skin_care",
        "urgency": "routine",
        "consent_to_contact": "on",
        "consent_method": "verbal",
        **extra,
    }


@pytest.fixture
def uploaded_referral(owner_client, spa, practice, bucket):
    """A referral entered through the staff form with a scanned letter attached, as a person does it."""
    response = owner_client.post(
        reverse("referrals:create", args=[spa.slug]),
        _manual_entry(practice, attachment=SimpleUploadedFile("Referral letter.pdf", PDF)),
    )
    assert response.status_code == 302
    with scopes_disabled():
        return Referral.objects.select_related("spa").get(spa=spa)


def _audited(spa, action):
    with scopes_disabled():
        return AuditEvent.objects.filter(spa=spa, action=action).count()


# --- uploads ---------------------------------------------------------------------------------------------------


def test_an_attachment_uploaded_through_the_form_lands_in_the_bucket_and_not_on_disk(
    uploaded_referral, bucket, spa, local_files
):
    name = uploaded_referral.attachment.name

    assert name.startswith(f"private/referrals/{spa.public_id}/")
    assert bucket.keys() == [name]
    assert bucket.read(name) == PDF
    assert bucket.public_grants(name) == []
    assert local_files() == []


def test_a_presigned_address_lives_a_minute_at_most(uploaded_referral):
    address = default_storage.url(uploaded_referral.attachment.name)

    assert int(re.search(r"X-Amz-Expires=(\d+)", address).group(1)) <= 60
    assert "X-Amz-Signature=" in address


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("default_acl", "public-read"),
        ("querystring_auth", False),
        ("querystring_expire", 3600),
        ("file_overwrite", True),
        ("custom_domain", "files.example.com"),
    ],
)
def test_the_storage_refuses_to_be_made_public(s3_endpoint, option, value):
    options = s3_storage_setting(s3_endpoint, "any-bucket", **{option: value})["OPTIONS"]

    with pytest.raises(ImproperlyConfigured):
        PrivateS3Storage(**options)


# --- downloads through the scoped view --------------------------------------------------------------------------


def test_a_member_downloads_the_attachment_from_the_bucket_through_the_audited_view(
    uploaded_referral, staff_client, spa
):
    response = staff_client.get(_referral_url("attachment", spa, uploaded_referral))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="referral-letter.pdf"'
    assert response["Content-Length"] == str(len(PDF))
    assert "no-store" in response["Cache-Control"]
    assert _audited(spa, "referral.attachment_downloaded") == 1


def test_another_spas_member_gets_404_and_reads_nothing(uploaded_referral, outsider_client, spa, other_spa):
    through_our_address = outsider_client.get(_referral_url("attachment", spa, uploaded_referral))
    through_their_address = outsider_client.get(_referral_url("attachment", other_spa, uploaded_referral))

    assert through_our_address.status_code == 404
    assert through_their_address.status_code == 404
    assert _audited(spa, "referral.attachment_downloaded") == 0


def test_anonymous_visitors_are_sent_to_sign_in(uploaded_referral, client, spa):
    response = client.get(_referral_url("attachment", spa, uploaded_referral))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_object_missing_from_the_bucket_answers_404(uploaded_referral, owner_client, spa, bucket):
    bucket.client.delete_object(Bucket=bucket.name, Key=uploaded_referral.attachment.name)

    assert owner_client.get(_referral_url("attachment", spa, uploaded_referral)).status_code == 404


# --- erasure -----------------------------------------------------------------------------------------------------


def test_erasure_deletes_the_patients_files_from_the_bucket(
    uploaded_referral, owner_client, spa, bucket, django_capture_on_commit_callbacks
):
    recorded = owner_client.post(
        reverse("consent:record", args=[spa.slug, uploaded_referral.public_id]),
        {"signer_name": "Maria Lopez", "signed_form": SimpleUploadedFile("signed.pdf", SIGNED)},
    )
    assert recorded.status_code == 302
    with scopes_disabled():
        signed_form = Authorization.objects.get(referral=uploaded_referral).signed_form.name
    kept = "private/referrals/someone-else.pdf"  # another patient's file stays
    bucket.client.put_object(Bucket=bucket.name, Key=kept, Body=b"%PDF-1.7")
    assert bucket.keys() == sorted([uploaded_referral.attachment.name, signed_form, kept])

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the erasure has committed
        response = owner_client.post(
            reverse("patient_rights:erase", args=[spa.slug, uploaded_referral.public_id]),
            {"request_channel": "in_writing", "confirm": "on"},
        )

    assert response.status_code == 302
    assert bucket.keys() == [kept]
    with scopes_disabled():
        assert Referral.objects.get(pk=uploaded_referral.pk).attachment.name == ""


# --- generated documents -----------------------------------------------------------------------------------------


@pytest.fixture
def pad(owner_client, spa, practice, bucket, django_capture_on_commit_callbacks):
    """A referral pad asked for on the practice's page and rendered (eagerly) into the bucket."""
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="DERM42")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("pads:request", args=[spa.slug, practice.public_id]), {"paper": "letter", "pages": "1"}
        )
    assert response.status_code == 302
    with scopes_disabled():
        document = GeneratedDocument.objects.get(spa=spa)
    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    return document


def test_a_generated_pdf_is_stored_in_the_bucket_and_served_from_it(pad, owner_client, spa, bucket, local_files):
    assert bucket.keys() == sorted([pad.file.name, pad.thumbnail.name])
    stored = bucket.read(pad.file.name)

    response = owner_client.get(reverse("documents:download", args=[spa.slug, pad.public_id]))
    thumbnail = owner_client.get(reverse("documents:thumbnail", args=[spa.slug, pad.public_id]))

    assert response.status_code == 200
    served = b"".join(response.streaming_content)
    assert served == stored
    assert "DERM42" in PdfReader(io.BytesIO(served)).pages[0].extract_text()
    assert Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))).format == "PNG"
    assert _audited(spa, "document.downloaded") == 1
    assert local_files() == []


def test_making_a_document_again_leaves_only_the_new_files_in_the_bucket(
    pad, owner_client, spa, bucket, django_capture_on_commit_callbacks
):
    before = bucket.keys()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("documents:regenerate", args=[spa.slug, pad.public_id]))

    assert response.status_code == 302
    with scopes_disabled():
        again = GeneratedDocument.objects.get(pk=pad.pk)
    assert again.status == GeneratedDocument.Status.READY
    assert bucket.keys() == sorted([again.file.name, again.thumbnail.name])
    assert set(bucket.keys()).isdisjoint(before)  # an erasure finds every file the document has


def test_another_spa_cannot_download_our_document(pad, outsider_client, client, spa):
    download = reverse("documents:download", args=[spa.slug, pad.public_id])

    assert outsider_client.get(download).status_code == 404
    assert outsider_client.get(reverse("documents:thumbnail", args=[spa.slug, pad.public_id])).status_code == 404
    assert client.get(download).status_code == 302


def test_a_letter_batch_is_combined_from_parts_in_the_bucket_and_its_parts_served_from_it(
    owner_client, outsider_client, spa, bucket, django_capture_on_commit_callbacks
):
    template = LetterTemplateFactory(
        spa=spa, body="Dear {clinician_title_name},\n\nWe would love to meet {practice_name}."
    )
    names = ["Alpha Dermatology", "Beta Skin Clinic"]
    practices = [PracticeFactory(spa=spa, name=name, specialty="dermatology") for name in names]

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("outreach:send", args=[spa.slug]),
            {"template": template.public_id, "practices": [practice.public_id for practice in practices]},
        )

    assert response.status_code == 302
    with scopes_disabled():
        batch = LetterBatch.objects.select_related("document").get(spa=spa)
        parts = list(GeneratedDocument.objects.filter(batch=batch.document).order_by("id"))
    combined = PdfReader(io.BytesIO(bucket.read(batch.document.file.name)))
    assert all(name in "\n".join(page.extract_text() for page in combined.pages) for name in names)
    part_url = reverse("outreach:part_download", args=[spa.slug, batch.public_id, parts[0].public_id])
    download = owner_client.get(part_url)
    assert b"".join(download.streaming_content) == bucket.read(parts[0].file.name)
    assert outsider_client.get(part_url).status_code == 404


# --- logos -------------------------------------------------------------------------------------------------------


def test_a_logo_set_in_settings_is_served_and_printed_from_the_bucket(owner_client, spa, bucket, local_files):
    logo = _png()
    settings_url = reverse("spas:settings", args=[spa.slug])
    response = owner_client.post(
        settings_url,
        {
            "name": spa.name,
            "timezone": spa.timezone,
            "country": spa.country,
            "brand_colour": spa.brand_colour,
            "referral_email": spa.referral_email,
            "logo": SimpleUploadedFile("logo.png", logo, "image/png"),
        },
    )
    assert response.status_code == 302
    spa.refresh_from_db()

    served = owner_client.get(reverse("spa_logo", args=[spa.public_id]))
    page = owner_client.get(settings_url).content.decode()

    assert bucket.keys() == [spa.logo.name]
    assert b"".join(served.streaming_content) == logo
    assert logo_data_uri(spa).startswith("data:image/png;base64,")
    # The settings page links the current logo to its own view, never to the bucket.
    assert f'href="{reverse("spa_logo", args=[spa.public_id])}"' in page
    assert bucket.name not in page
    assert local_files() == []


# --- the bucket itself -------------------------------------------------------------------------------------------


def test_the_bucket_command_creates_a_private_bucket_once(s3_endpoint, s3_client, settings):
    name = "spa-files-made-by-the-command"
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_setting(s3_endpoint, name)}
    first, second = io.StringIO(), io.StringIO()

    call_command("storage_bucket_create", stdout=first)
    default_storage.save("private/probe.txt", ContentFile(b"probe"))
    call_command("storage_bucket_create", stdout=second)

    assert f"Created the private bucket {name}." in first.getvalue()
    assert f"Bucket {name} already exists" in second.getvalue()
    assert [entry["Key"] for entry in s3_client.list_objects_v2(Bucket=name)["Contents"]] == ["private/probe.txt"]
    blocked = s3_client.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert blocked == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3_client.get_bucket_location(Bucket=name)["LocationConstraint"] in (None, REGION)


def test_the_bucket_command_says_there_is_nothing_to_create_with_local_files():
    out = io.StringIO()

    call_command("storage_bucket_create", stdout=out)

    assert "local disk" in out.getvalue()


def test_files_kept_on_local_disk_are_copied_into_the_bucket_once(bucket, tmp_path):
    old_media = tmp_path / "old-media"
    (old_media / "private" / "referrals").mkdir(parents=True)
    (old_media / "private" / "referrals" / "a1.pdf").write_bytes(PDF)
    (old_media / "logos").mkdir()
    (old_media / "logos" / "logo.png").write_bytes(_png())
    first, second = io.StringIO(), io.StringIO()

    call_command("storage_import_local", str(old_media), stdout=first)
    call_command("storage_import_local", str(old_media), stdout=second)

    assert bucket.keys() == ["logos/logo.png", "private/referrals/a1.pdf"]
    assert bucket.read("private/referrals/a1.pdf") == PDF
    assert "Copied 2 files" in first.getvalue()
    assert "Copied 0 files" in second.getvalue() and "2 were there" in second.getvalue()
