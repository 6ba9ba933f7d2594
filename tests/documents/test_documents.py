"""Generated documents: one render per (kind, source, version, options), failures users can see and
retry, redelivery-safe tasks, a sweep that recovers lost enqueues and dead workers, and the documents
page with its downloads."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError
from PIL import Image
from pypdf import PdfReader

from infra import documents
from infra.models import AuditEvent, GeneratedDocument
from infra.tasks import document_render_task, documents_sweep_task

from ..factories import PracticeFactory

KIND = "test_practice_sheet"
HTMX = {"HTTP_HX_REQUEST": "true"}


class SheetKind:
    """A tiny document kind whose build can be counted and made to fail."""

    def __init__(self):
        self.builds = []
        self.failure = None

    def build(self, spa, practice, options):
        self.builds.append(practice.pk)
        if self.failure:
            raise ValueError(self.failure)
        return "doc_tests/practice_sheet.html", {"practice": practice, "pages": range(options.get("pages", 1))}

    @staticmethod
    def version(practice):
        return hashlib.sha256(f"{practice.name}|{practice.updated_at.isoformat()}".encode()).hexdigest()[:32]

    @staticmethod
    def title(practice, options):
        return f"Sheet for {practice.name}"


@pytest.fixture
def sheet_kind(settings, tmp_path):
    directory = tmp_path / "templates"
    (directory / "doc_tests").mkdir(parents=True)
    (directory / "doc_tests" / "practice_sheet.html").write_text(
        "<html><body>{% for page in pages %}"
        '<section style="page-break-after: always"><h1>{{ practice.name }}</h1><p>Page {{ forloop.counter }}</p>'
        "</section>{% endfor %}</body></html>"
    )
    templates = [dict(engine) for engine in settings.TEMPLATES]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], directory]
    settings.TEMPLATES = templates
    kind = SheetKind()
    documents.register(
        documents.DocumentKind(
            kind=KIND,
            label="Practice sheet",
            source_model="partners.Practice",
            build=kind.build,
            version=kind.version,
            title=kind.title,
            time_limit=20,
        )
    )
    yield kind
    documents.KINDS.pop(KIND, None)


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, name="Brookline Dermatology")


@pytest.fixture
def ask(spa, owner, django_capture_on_commit_callbacks):
    """Request the sheet as the owner would; run the after-commit enqueue (eager Celery) unless told not to."""

    def ask(practice, *, render=True, **options):
        with django_capture_on_commit_callbacks(execute=render), scope(spa=spa):
            return documents.document_request(
                spa=spa, kind=KIND, source=practice, requested_by=owner, options=options or {"pages": 1}
            )

    return ask


def _rows(**filters):
    with scopes_disabled():
        return list(GeneratedDocument.objects.filter(kind=KIND, **filters).order_by("pk"))


def _fresh(document):
    with scopes_disabled():
        return GeneratedDocument.objects.get(pk=document.pk)


def _url(name, spa, document=None):
    args = [spa.slug] if document is None else [spa.slug, document.public_id]
    return reverse(f"documents:{name}", args=args)


def _file_bytes(document):
    with document.file.open("rb") as stored:
        return stored.read()


# --- requesting and rendering -----------------------------------------------------------------------


def test_asking_twice_renders_once(sheet_kind, practice, ask):
    first = ask(practice)
    second = ask(practice)

    assert second.pk == first.pk
    assert [row.status for row in _rows()] == [GeneratedDocument.Status.READY]
    assert sheet_kind.builds == [practice.pk]


def test_different_options_are_a_different_document(sheet_kind, practice, ask):
    ask(practice, pages=1)
    ask(practice, pages=2)

    assert len(_rows()) == 2
    assert len(sheet_kind.builds) == 2


def test_a_ready_document_has_the_pdf_its_checksum_page_count_and_a_png_thumbnail(sheet_kind, practice, ask):
    document = _fresh(ask(practice, pages=3))

    content = _file_bytes(document)
    assert content.startswith(b"%PDF-")
    assert document.checksum == hashlib.sha256(content).hexdigest()
    assert document.page_count == 3
    assert len(PdfReader(io.BytesIO(content)).pages) == 3
    assert "Brookline Dermatology" in PdfReader(io.BytesIO(content)).pages[0].extract_text()
    with document.thumbnail.open("rb") as thumbnail:
        image = Image.open(io.BytesIO(thumbnail.read()))
        assert image.format == "PNG"
        assert image.width == 320
    assert document.title == "Sheet for Brookline Dermatology"
    assert document.finished_at is not None


def test_editing_the_source_makes_the_old_document_stale_and_asking_again_makes_a_new_one(
    sheet_kind, spa, practice, ask, owner_client
):
    old = ask(practice)
    with scope(spa=spa):
        practice.name = "Brookline Skin Center"
        practice.save()
        assert documents.is_stale(_fresh(old))

    page = owner_client.get(_url("list", spa)).content.decode()
    assert "Out of date" in page

    new = ask(practice)

    assert new.pk != old.pk
    assert [row.status for row in _rows()] == [GeneratedDocument.Status.READY] * 2
    assert len(sheet_kind.builds) == 2
    with scope(spa=spa):
        assert not documents.is_stale(_fresh(new))
    assert "Brookline Skin Center" in PdfReader(io.BytesIO(_file_bytes(_fresh(new)))).pages[0].extract_text()


def test_a_failing_build_marks_the_document_failed_with_the_reason_shown_on_the_page(
    sheet_kind, spa, practice, ask, owner_client
):
    sheet_kind.failure = "This practice has no referral code yet."

    document = _fresh(ask(practice))

    assert document.status == GeneratedDocument.Status.FAILED
    assert document.failure_reason == "This practice has no referral code yet."
    assert not document.file
    page = owner_client.get(_url("list", spa)).content.decode()
    assert "Failed" in page
    assert "This practice has no referral code yet." in page


def test_regenerate_requeues_a_failed_document_and_renders_it(
    sheet_kind, spa, practice, ask, owner_client, django_capture_on_commit_callbacks
):
    sheet_kind.failure = "Temporary trouble."
    document = ask(practice)
    sheet_kind.failure = None

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(_url("regenerate", spa, document))

    assert response.status_code == 302
    assert _fresh(document).status == GeneratedDocument.Status.QUEUED
    assert _fresh(document).failure_reason == ""
    for callback in callbacks:
        callback()
    assert _fresh(document).status == GeneratedDocument.Status.READY
    assert len(_rows()) == 1
    assert len(sheet_kind.builds) == 2


def test_asking_again_after_a_failure_retries(sheet_kind, practice, ask):
    sheet_kind.failure = "Temporary trouble."
    ask(practice)
    sheet_kind.failure = None

    ask(practice)

    assert [row.status for row in _rows()] == [GeneratedDocument.Status.READY]


def test_regenerate_is_post_only(sheet_kind, spa, practice, ask, owner_client):
    document = ask(practice)

    assert owner_client.get(_url("regenerate", spa, document)).status_code == 405


# --- the task and the sweep ------------------------------------------------------------------------


def test_a_second_delivery_of_the_task_does_nothing(sheet_kind, spa, practice, ask):
    document = _fresh(ask(practice))
    checksum, file_name = document.checksum, document.file.name

    document_render_task.delay(spa.pk, document.pk)

    again = _fresh(document)
    assert sheet_kind.builds == [practice.pk]
    assert (again.status, again.checksum, again.file.name) == (GeneratedDocument.Status.READY, checksum, file_name)


def test_a_delivery_while_another_worker_renders_does_nothing(sheet_kind, spa, practice, ask):
    document = ask(practice, render=False)
    with scopes_disabled():
        GeneratedDocument.objects.filter(pk=document.pk).update(
            status=GeneratedDocument.Status.RENDERING, started_at=timezone.now()
        )

    document_render_task.delay(spa.pk, document.pk)
    documents_sweep_task()

    assert sheet_kind.builds == []
    assert _fresh(document).status == GeneratedDocument.Status.RENDERING


def test_a_rendering_row_past_the_lease_is_picked_up_by_the_sweep(sheet_kind, practice, ask):
    document = ask(practice, render=False)
    with scopes_disabled():
        GeneratedDocument.objects.filter(pk=document.pk).update(
            status=GeneratedDocument.Status.RENDERING,
            started_at=timezone.now() - documents.RENDER_LEASE - timedelta(minutes=1),
        )

    assert documents_sweep_task() == 1

    assert _fresh(document).status == GeneratedDocument.Status.READY
    assert sheet_kind.builds == [practice.pk]


def test_a_broker_outage_at_enqueue_leaves_the_row_queued_and_the_sweep_renders_it(
    sheet_kind, practice, ask, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(document_render_task, "apply_async", broker_down)

    document = ask(practice)

    assert _fresh(document).status == GeneratedDocument.Status.QUEUED
    assert sheet_kind.builds == []

    monkeypatch.undo()  # the broker is back
    assert documents_sweep_task() == 0  # a just-queued row is left to its own enqueue for a minute
    with scopes_disabled():
        GeneratedDocument.objects.filter(pk=document.pk).update(requested_at=timezone.now() - timedelta(minutes=2))

    assert documents_sweep_task() == 1

    assert _fresh(document).status == GeneratedDocument.Status.READY
    assert sheet_kind.builds == [practice.pk]


def test_a_document_whose_source_was_deleted_fails_with_a_reason(sheet_kind, spa, practice, ask):
    document = ask(practice, render=False)
    with scope(spa=spa):
        practice.delete()

    document_render_task.delay(spa.pk, document.pk)

    failed = _fresh(document)
    assert failed.status == GeneratedDocument.Status.FAILED
    assert "no longer exists" in failed.failure_reason


# --- the documents page ----------------------------------------------------------------------------


def test_the_documents_page_lists_documents_with_their_status(sheet_kind, spa, practice, ask, owner_client):
    ask(practice, pages=1)
    with scope(spa=spa):
        other = PracticeFactory(spa=spa, name="Newton Pediatrics")
    ask(other, render=False)

    response = owner_client.get(_url("list", spa))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Sheet for Brookline Dermatology" in page
    assert "Sheet for Newton Pediatrics" in page
    assert "Ready" in page
    assert "Queued" in page


def test_the_page_polls_only_while_something_is_pending(sheet_kind, spa, practice, ask, owner_client):
    queued = ask(practice, render=False)

    # The table polls every two seconds (the navigation's badges listen for their own event, not a timer).
    assert 'hx-trigger="every 2s"' in owner_client.get(_url("list", spa)).content.decode()

    document_render_task.delay(spa.pk, queued.pk)

    assert _fresh(queued).status == GeneratedDocument.Status.READY
    assert "every 2s" not in owner_client.get(_url("list", spa)).content.decode()


def test_the_htmx_request_gets_just_the_table(sheet_kind, spa, practice, ask, owner_client):
    ask(practice, render=False)

    page = owner_client.get(_url("list", spa), **HTMX).content.decode()

    assert "<html" not in page
    assert "<table" in page
    assert "Sheet for Brookline Dermatology" in page


def test_the_documents_page_has_an_empty_state(spa, owner_client):
    page = owner_client.get(_url("list", spa)).content.decode()

    assert "No documents yet" in page


def test_the_documents_page_hides_other_spas_documents(sheet_kind, spa, other_spa, ask, owner_client):
    with scope(spa=other_spa):
        theirs = PracticeFactory(spa=other_spa, name="Outsider Clinic")
        documents.document_request(spa=other_spa, kind=KIND, source=theirs, requested_by=None, options={})

    page = owner_client.get(_url("list", spa)).content.decode()

    assert "Outsider Clinic" not in page


def test_the_documents_page_query_count_stays_flat(
    sheet_kind, spa, practice, ask, owner_client, django_assert_max_num_queries
):
    for pages in range(1, 8):
        ask(practice, render=False, pages=pages)

    with django_assert_max_num_queries(25):
        response = owner_client.get(_url("list", spa))

    assert response.status_code == 200


# --- download and thumbnail ------------------------------------------------------------------------


def test_downloading_a_ready_document_is_an_audited_attachment(sheet_kind, spa, owner, practice, ask, owner_client):
    document = _fresh(ask(practice))

    response = owner_client.get(_url("download", spa, document))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == _file_bytes(document)
    with scopes_disabled():
        event = AuditEvent.objects.get(spa=spa, action="document.downloaded")
    assert (event.object_id, event.actor) == (str(document.public_id), owner)


def test_a_document_that_is_not_ready_is_not_downloadable(sheet_kind, spa, practice, ask, owner_client):
    document = ask(practice, render=False)

    assert owner_client.get(_url("download", spa, document)).status_code == 404
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="document.downloaded").exists()


def test_another_spas_document_is_not_found(
    sheet_kind, spa, other_spa, owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), scope(spa=other_spa):
        theirs = documents.document_request(
            spa=other_spa,
            kind=KIND,
            source=PracticeFactory(spa=other_spa),
            requested_by=None,
            options={"pages": 1},
        )
    assert _fresh(theirs).status == GeneratedDocument.Status.READY

    for name in ("download", "thumbnail"):
        assert owner_client.get(_url(name, spa, theirs)).status_code == 404
    assert owner_client.post(_url("regenerate", spa, theirs)).status_code == 404


def test_an_outsider_cannot_reach_our_documents(sheet_kind, spa, practice, ask, outsider_client):
    document = ask(practice)

    for name in ("download", "thumbnail"):
        assert outsider_client.get(_url(name, spa, document)).status_code == 404
    assert outsider_client.get(_url("list", spa)).status_code == 404


def test_the_thumbnail_is_a_png(sheet_kind, spa, practice, ask, owner_client):
    document = ask(practice)

    response = owner_client.get(_url("thumbnail", spa, document))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG\r\n\x1a\n")
