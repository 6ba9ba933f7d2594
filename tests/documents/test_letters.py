"""Personalized letters: placeholders, one letter, batches (eager and through a real worker)."""

import io
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader

from infra.models import GeneratedDocument
from outreach.letters.placeholders import PLACEHOLDERS, substitute, unknown_placeholders, validate_placeholders
from outreach.letters.services import letter_batch_create, letter_request, letter_template_save
from outreach.models import LetterBatch, LetterTemplate
from spa_referrals.celery import app
from tests.conftest import redis_only
from tests.factories import ClinicianFactory, LetterTemplateFactory, OfferFactory, PracticeFactory

EVERY_PLACEHOLDER = "\n".join(f"{name}=[{{{name}}}]" for name in PLACEHOLDERS)


def pdf_text(content):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _file_text(document):
    with document.file.open("rb") as handle:
        return pdf_text(handle.read())


@pytest.fixture
def practice(spa):
    practice = PracticeFactory(spa=spa, name="Brookline Skin Associates", city="Brookline", specialty="dermatology")
    ClinicianFactory(spa=spa, practice=practice, first_name="Anita", last_name="Patel", credentials="MD")
    return practice


# --- placeholders -------------------------------------------------------------------------------


def test_unknown_placeholders_are_listed_and_known_ones_accepted():
    assert unknown_placeholders("Dear {clinician_title_name}, {practise_name} {Spa} { offer }") == [
        "practise_name",
        "Spa",
    ]
    validate_placeholders(EVERY_PLACEHOLDER)
    with pytest.raises(ValidationError) as error:
        validate_placeholders("Hello {first_name} and {last_name}")
    assert "{first_name}" in str(error.value)
    assert "{last_name}" in str(error.value)


def test_substitution_is_one_pass_and_never_re_substitutes_a_value():
    values = {"practice_name": "{spa_name} {{ 7*7 }}", "spa_name": "Serene"}

    assert substitute("To {practice_name} from {spa_name}", values) == "To {spa_name} {{ 7*7 }} from Serene"


def test_every_documented_placeholder_is_substituted_in_a_letter(
    spa, owner, practice, django_capture_on_commit_callbacks
):
    spa.referral_phone = "(617) 555-0142"
    spa.save()
    OfferFactory(spa=spa, title="15% off a first calming facial", specialties=["dermatology"])
    template = LetterTemplateFactory(spa=spa, body=EVERY_PLACEHOLDER)

    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        document = letter_request(spa=spa, practice=practice, template=template, requested_by=owner)
    with scope(spa=spa):
        document.refresh_from_db()

    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    text = _file_text(document)
    expected = {
        "practice_name": "Brookline Skin Associates",
        "practice_city": "Brookline",
        "clinician_title_name": "Dr. Patel",
        "spa_name": "Serene Test Spa",
        "spa_phone": "(617) 555-0142",
        "spa_email": spa.referral_email,
        "offer": "15% off a first calming facial",
        "owner_name": "Olivia Owner",
        "signature_name": "Olivia Owner",
    }
    for name, value in expected.items():
        assert f"{name}=[{value}]" in text
    assert "today=[" in text and "{today}" not in text
    assert "{" not in text


def test_html_and_template_syntax_in_values_are_printed_literally(spa, owner, django_capture_on_commit_callbacks):
    practice = PracticeFactory(spa=spa, name="{{ 7*7 }} <b>x</b> {spa_name}")
    template = LetterTemplateFactory(spa=spa, body="To {practice_name} from {spa_name}. {% now 'Y' %}")

    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        document = letter_request(spa=spa, practice=practice, template=template, requested_by=owner)
    with scope(spa=spa):
        document.refresh_from_db()

    text = _file_text(document)
    assert "To {{ 7*7 }} <b>x</b> {spa_name} from Serene Test Spa." in text
    assert "{% now 'Y' %}" in text
    assert "49" not in text


def test_saving_a_template_with_an_unknown_placeholder_is_refused(spa, owner):
    template = LetterTemplate(name="Intro", body="Dear {doctor_name},")

    with scope(spa=spa), pytest.raises(ValidationError) as error:
        letter_template_save(spa=spa, template=template, actor=owner)

    assert "{doctor_name}" in str(error.value.message_dict["body"])


# --- template pages -----------------------------------------------------------------------------


def test_a_manager_creates_and_edits_a_letter_template(spa, owner_client):
    response = owner_client.post(
        reverse("outreach:template_create", args=[spa.slug]),
        {"name": "Introduction", "body": "Dear {clinician_title_name},\n\nWe are {spa_name}."},
    )
    assert response.status_code == 302
    with scope(spa=spa):
        template = LetterTemplate.objects.get(spa=spa)
    assert template.name == "Introduction"

    response = owner_client.post(
        reverse("outreach:template_edit", args=[spa.slug, template.public_id]),
        {"name": "Introduction v2", "body": "Hello {practice_name}"},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body == "Hello {practice_name}"
    page = owner_client.get(reverse("outreach:index", args=[spa.slug]))
    assert "Introduction v2" in page.content.decode()


def test_unknown_placeholders_are_shown_beside_the_body_field(spa, owner_client):
    url = reverse("outreach:template_create", args=[spa.slug])
    assert "{clinician_title_name}" in owner_client.get(url).content.decode()  # the documented set

    response = owner_client.post(url, {"name": "Intro", "body": "Dear {doctor}, from {spa_name} and {sender}"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_body_error"' in html
    error = html.split('id="id_body_error"')[1].split("</div>")[0]
    assert "{doctor}" in error and "{sender}" in error and "{spa_name}" not in error
    with scope(spa=spa):
        assert not LetterTemplate.objects.filter(spa=spa).exists()


def test_staff_may_send_letters_but_not_write_templates(spa, staff_client):
    assert staff_client.get(reverse("outreach:template_create", args=[spa.slug])).status_code == 403
    assert staff_client.get(reverse("outreach:send", args=[spa.slug])).status_code == 200
    assert staff_client.get(reverse("outreach:index", args=[spa.slug])).status_code == 200


def test_another_spas_template_and_batch_are_not_found(spa, other_spa, owner, outsider_client, practice):
    template = LetterTemplateFactory(spa=spa)
    with scope(spa=spa):
        batch = letter_batch_create(spa=spa, template=template, practices=[practice], requested_by=owner)

    assert (
        outsider_client.get(reverse("outreach:template_edit", args=[spa.slug, template.public_id])).status_code == 404
    )
    # Under the outsider's own spa, our ids do not exist either.
    assert (
        outsider_client.get(reverse("outreach:template_edit", args=[other_spa.slug, template.public_id])).status_code
        == 404
    )
    assert outsider_client.get(reverse("outreach:batch", args=[other_spa.slug, batch.public_id])).status_code == 404
    with scope(spa=spa):
        part = GeneratedDocument.objects.filter(spa=spa, batch=batch.document).first()
    assert (
        outsider_client.get(
            reverse("outreach:part_download", args=[other_spa.slug, batch.public_id, part.public_id])
        ).status_code
        == 404
    )


def test_a_practice_of_another_spa_cannot_be_sent_a_letter(spa, other_spa, owner_client):
    template = LetterTemplateFactory(spa=spa)
    foreign = PracticeFactory(spa=other_spa)

    response = owner_client.post(
        reverse("outreach:send", args=[spa.slug]), {"template": template.public_id, "practices": [foreign.public_id]}
    )

    assert response.status_code == 400
    with scope(spa=spa):
        assert not LetterBatch.objects.exists()


# --- batches ------------------------------------------------------------------------------------


def test_a_batch_of_three_makes_three_parts_and_one_combined_pdf(spa, owner_client, django_capture_on_commit_callbacks):
    template = LetterTemplateFactory(
        spa=spa, body="Dear {clinician_title_name},\n\nWe would love to meet {practice_name}."
    )
    names = ["Alpha Dermatology", "Beta Skin Clinic", "Gamma Dermatology"]
    practices = [PracticeFactory(spa=spa, name=name, specialty="dermatology", city="Newton") for name in names]
    PracticeFactory(spa=spa, name="Other City Derm", specialty="dermatology", city="Boston")
    send_url = reverse("outreach:send", args=[spa.slug])

    page = owner_client.get(send_url, {"city": "Newton", "specialty": "dermatology"}).content.decode()
    assert all(name in page for name in names) and "Other City Derm" not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            send_url + "?city=Newton",
            {"template": template.public_id, "practices": [practice.public_id for practice in practices]},
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("documents:list", args=[spa.slug])
    with scope(spa=spa):
        batch = LetterBatch.objects.get(spa=spa)
        parent = batch.document
        parent.refresh_from_db()
        parts = list(GeneratedDocument.objects.filter(batch=parent).order_by("id"))
    assert parent.status == GeneratedDocument.Status.READY, parent.failure_reason
    assert parent.progress_total == parent.progress_done == 3
    assert len(parts) == 3
    assert all(part.status == GeneratedDocument.Status.READY for part in parts)
    for part, name in zip(parts, names, strict=True):
        assert name in _file_text(part)
        for other in set(names) - {name}:
            assert other not in _file_text(part)
    combined = PdfReader(parent.file.open("rb"))
    assert len(combined.pages) >= 3 and parent.page_count == len(combined.pages)
    combined_text = pdf_text(parent.file.open("rb").read())
    assert all(name in combined_text for name in names)

    listing = owner_client.get(reverse("documents:list", args=[spa.slug])).content.decode()
    assert "3 of 3 done" in listing
    detail = owner_client.get(reverse("outreach:batch", args=[spa.slug, batch.public_id])).content.decode()
    download = owner_client.get(reverse("outreach:part_download", args=[spa.slug, batch.public_id, parts[0].public_id]))
    assert download.status_code == 200 and "Alpha Dermatology" in detail


def test_running_a_finished_batch_again_does_nothing(spa, owner, practice, django_capture_on_commit_callbacks):
    from outreach.letters.tasks import letter_batch_render_task

    template = LetterTemplateFactory(spa=spa)
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        batch = letter_batch_create(spa=spa, template=template, practices=[practice], requested_by=owner)
    with scope(spa=spa):
        parent = GeneratedDocument.objects.get(pk=batch.document_id)
    checksum = parent.checksum

    assert letter_batch_render_task(spa.pk, parent.pk) is None
    with scope(spa=spa):
        parent.refresh_from_db()
    assert parent.checksum == checksum and parent.status == GeneratedDocument.Status.READY


def test_the_batch_task_skips_parts_already_ready(spa, owner):
    from infra.documents import save_rendered
    from infra.pdf import render_html_to_pdf
    from outreach.letters.tasks import letter_batch_render_task

    template = LetterTemplateFactory(spa=spa)
    practices = [PracticeFactory(spa=spa, name=f"Skip Test {n}") for n in range(2)]
    with scope(spa=spa):
        batch = letter_batch_create(spa=spa, template=template, practices=practices, requested_by=owner)
        first = GeneratedDocument.objects.filter(batch=batch.document).order_by("id").first()
        # An earlier, interrupted run already made the first part.
        earlier = render_html_to_pdf("<p>Already made</p>")
        save_rendered(first, earlier.content, earlier.page_count)
    first_checksum = first.checksum

    letter_batch_render_task(spa.pk, batch.document_id)

    with scope(spa=spa):
        first.refresh_from_db()
        parent = GeneratedDocument.objects.get(pk=batch.document_id)
    assert first.checksum == first_checksum
    assert parent.status == GeneratedDocument.Status.READY
    combined = pdf_text(parent.file.open("rb").read())
    assert "Already made" in combined
    assert "Skip Test 1" in combined
    assert "Skip Test 0" not in combined


# --- 200 letters through a real worker on Redis --------------------------------------------------


@pytest.fixture
def redis_worker():
    """A real worker (solo pool, in a thread) on a queue of its own on the test Redis."""
    queue = f"spa-test-letters-{uuid.uuid4().hex}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_default_queue", "worker_hijack_root_logger")}
    app.conf.update(task_always_eager=False, task_default_queue=queue, worker_hijack_root_logger=False)
    try:
        with start_worker(
            app, pool="solo", concurrency=1, queues=[queue], perform_ping_check=False, shutdown_timeout=60
        ):
            yield queue
    finally:
        app.conf.update(saved)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


BATCH_SIZE = 200
WAIT_SECONDS = 240


@redis_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_of_200_letters_completes_through_a_real_worker_with_progress(spa, owner, redis_worker):
    assert app.conf.broker_url.startswith("redis://")
    with scope(spa=spa):
        template = LetterTemplateFactory(spa=spa, body="Dear {clinician_title_name},\n\nA letter for {practice_name}.")
        practices = [PracticeFactory(spa=spa, name=f"Worker Practice {n:03d}") for n in range(BATCH_SIZE)]
    started = time.monotonic()
    with scope(spa=spa), transaction.atomic():
        batch = letter_batch_create(spa=spa, template=template, practices=practices, requested_by=owner)

    seen = []
    deadline = time.monotonic() + WAIT_SECONDS
    with scopes_disabled():
        parent = GeneratedDocument.objects.get(pk=batch.document_id)
        while time.monotonic() < deadline:
            parent.refresh_from_db()
            seen.append(parent.progress_done)
            if parent.status in (GeneratedDocument.Status.READY, GeneratedDocument.Status.FAILED):
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        print(f"\n{BATCH_SIZE} letters in {elapsed:.1f} s")

        assert parent.status == GeneratedDocument.Status.READY, (parent.status, parent.failure_reason, seen[-1:])
        assert any(0 < done < BATCH_SIZE for done in seen)
        assert parent.progress_done == parent.progress_total == BATCH_SIZE
        assert seen == sorted(seen)  # progress only moves forward
        parts = list(GeneratedDocument.objects.filter(batch=parent).order_by("id"))
        assert len(parts) == BATCH_SIZE
        assert all(part.status == GeneratedDocument.Status.READY and part.file for part in parts)
        combined = PdfReader(parent.file.open("rb"))
        assert len(combined.pages) >= BATCH_SIZE
        for index in (0, 57, 123, BATCH_SIZE - 1):
            assert f"Worker Practice {index:03d}" in _file_text(parts[index])
            assert f"Worker Practice {index:03d}" in combined.pages[index].extract_text()


def test_regenerating_a_batch_from_the_documents_page_makes_the_combined_pdf_again(
    spa, owner, owner_client, django_capture_on_commit_callbacks
):
    """The documents page's Regenerate (and the documents sweep) renders a batch's letters in one go."""
    template = LetterTemplateFactory(spa=spa, body="Hello {practice_name}")
    practices = [PracticeFactory(spa=spa, name=f"Again Practice {n}") for n in range(2)]
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        batch = letter_batch_create(spa=spa, template=template, practices=practices, requested_by=owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("documents:regenerate", args=[spa.slug, batch.document.public_id]))

    assert response.status_code == 302
    with scope(spa=spa):
        parent = GeneratedDocument.objects.get(pk=batch.document_id)
        assert GeneratedDocument.objects.filter(spa=spa, kind="letter_batch").count() == 1
    assert parent.status == GeneratedDocument.Status.READY, parent.failure_reason
    assert parent.page_count == 2
    text = pdf_text(parent.file.open("rb").read())
    assert "Hello Again Practice 0" in text and "Hello Again Practice 1" in text
