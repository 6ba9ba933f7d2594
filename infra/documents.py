"""Generated documents: a registry of document kinds, the request service and the renderer.

Higher apps register their kinds (referral pads, leave-behinds, letters) from their AppConfig.ready();
this module never imports them. A request is idempotent per (kind, source, source version, options):
asking twice renders once, and editing the source (a new version) makes older documents stale.
Rendering happens in a Celery task enqueued after commit, inside the spa's scope.
"""

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from .audit import audit_record
from .file_deletion import delete_after_commit
from .models import GeneratedDocument
from .pdf import render_template_to_pdf
from .task_queue import enqueue

logger = logging.getLogger(__name__)

RENDER_LEASE = timedelta(minutes=10)  # a "rendering" row older than this belongs to a dead worker
RENDER_TASK = "spas.tasks.document_render_task"  # infra.tasks; its name predates the move from spas


@dataclass
class DocumentKind:
    """How to make one kind of document from one kind of source object.

    build(spa, source, options) -> (template_name, context); version(source) -> str;
    title(source, options) -> str. ``source_model`` is "app_label.Model" with a ``public_id``.
    """

    kind: str
    label: str
    source_model: str
    build: object
    version: object
    title: object
    time_limit: int = 60
    extra: dict = field(default_factory=dict)
    # subject(source, options) -> (id, label) or None: what the document is about (a practice), so the documents
    # page can filter by it without knowing the higher app's models.
    subject: object = None


KINDS = {}


def register(document_kind):
    KINDS[document_kind.kind] = document_kind
    return document_kind


@dataclass(frozen=True)
class DocumentCreator:
    """A page of a higher app where a person makes one kind of document (the documents page links to it)."""

    label: str
    url_name: str
    icon: str = "file-earmark-plus"


CREATORS = []


def register_creator(creator):
    if creator.url_name not in {existing.url_name for existing in CREATORS}:
        CREATORS.append(creator)
    return creator


def creators_for(spa_slug):
    """[(creator, url)] for the documents page's "New document" menu."""
    from django.urls import reverse

    return [(creator, reverse(creator.url_name, args=[spa_slug])) for creator in CREATORS]


def kind_choices():
    """(kind, label) of every registered kind, by label, for the documents page's filter (batch parts apart)."""
    return sorted(((kind.kind, str(kind.label)) for kind in KINDS.values()), key=lambda choice: choice[1])


def _subject(document_kind, source, options):
    subject = document_kind.subject(source, options) if document_kind.subject else None
    if not subject:
        return "", ""
    subject_id, label = subject
    return str(subject_id)[:64], str(label)[:200]


def _options_key(options):
    return hashlib.sha256(json.dumps(options or {}, sort_keys=True, default=str).encode()).hexdigest()


def load_source(document):
    model = apps.get_model(document.source_type)
    return model.objects.filter(spa=document.spa, public_id=document.source_id).first()


def is_stale(document, source=None):
    kind = KINDS.get(document.kind)
    if kind is None:
        return False
    source = source if source is not None else load_source(document)
    return source is None or kind.version(source) != document.source_version


def document_request(*, spa, kind, source, requested_by, options=None, force=False):
    """The document for this source's current version and options: existing, or queued for rendering."""
    document_kind = KINDS[kind]
    options = options or {}
    identity = {
        "spa": spa,
        "kind": kind,
        "source_type": document_kind.source_model,
        "source_id": str(source.public_id),
        "source_version": document_kind.version(source),
        "options_key": _options_key(options),
        "batch": None,
    }
    with transaction.atomic():
        document = GeneratedDocument.objects.select_for_update().filter(**identity).first()
        if document is None:
            try:
                with transaction.atomic():
                    subject_id, subject_label = _subject(document_kind, source, options)
                    document = GeneratedDocument.objects.create(
                        **identity,
                        options=options,
                        title=document_kind.title(source, options)[:200],
                        subject_id=subject_id,
                        subject_label=subject_label,
                        requested_by=requested_by if requested_by and requested_by.is_authenticated else None,
                    )
            except IntegrityError:  # asked twice at the same moment: the other request won
                return GeneratedDocument.objects.get(**identity)
            audit_record(
                spa=spa,
                action="document.requested",
                actor=requested_by,
                obj=document,
                detail={"kind": kind},
            )
        elif force or document.status == GeneratedDocument.Status.FAILED:
            document.status = GeneratedDocument.Status.QUEUED
            document.failure_reason = ""
            document.requested_at = timezone.now()
            document.save(update_fields=["status", "failure_reason", "requested_at"])
        else:
            return document  # already queued, rendering or ready: render once
        enqueue_render(document)
    return document


def enqueue_render(document):
    spa_id, document_id = document.spa_id, document.pk

    def send():
        try:
            enqueue(RENDER_TASK, spa_id, document_id)
        except Exception:  # noqa: BLE001 - broker down: the sweep renders it later
            logger.warning("Could not enqueue document %s; the sweep will render it.", document_id, exc_info=True)

    transaction.on_commit(send)


def _claim(document_id):
    now = timezone.now()
    return (
        GeneratedDocument.objects.filter(pk=document_id)
        .filter(
            Q(status=GeneratedDocument.Status.QUEUED)
            | Q(status=GeneratedDocument.Status.RENDERING, started_at__lt=now - RENDER_LEASE)
        )
        .update(status=GeneratedDocument.Status.RENDERING, started_at=now)
        == 1
    )


def pdf_thumbnail_png(pdf_bytes, width=320):
    """A PNG of the first page (pypdfium2)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        page = pdf[0]
        scale = width / page.get_width()
        image = page.render(scale=scale).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    finally:
        pdf.close()


def document_render(document_id):
    """Render one queued document (the Celery task's body, inside the spa's scope). Idempotent."""
    if not _claim(document_id):
        return None
    document = GeneratedDocument.objects.select_related("spa").get(pk=document_id)
    kind = KINDS.get(document.kind)
    try:
        source = load_source(document)
        if kind is None or source is None:
            raise ValueError("The source of this document no longer exists.")
        template_name, context = kind.build(document.spa, source, document.options)
        rendered = render_template_to_pdf(template_name, context, time_limit=kind.time_limit)
        save_rendered(document, rendered.content, rendered.page_count)
    except Exception as error:  # noqa: BLE001 - any failure is recorded where the user sees it
        logger.exception("Document %s failed to render", document_id)
        mark_failed(document, error)
    return document.status


def save_rendered(document, content, page_count):
    replaced = [stored.name for stored in (document.file, document.thumbnail) if stored]
    document.file.save(f"{document.public_id}.pdf", ContentFile(content), save=False)
    document.thumbnail.save(f"{document.public_id}.png", ContentFile(pdf_thumbnail_png(content)), save=False)
    document.page_count = page_count
    document.checksum = hashlib.sha256(content).hexdigest()
    document.status = GeneratedDocument.Status.READY
    document.failure_reason = ""
    document.finished_at = timezone.now()
    document.save(
        update_fields=["file", "thumbnail", "page_count", "checksum", "status", "failure_reason", "finished_at"]
    )
    # The earlier render's files: no row points at them any more, so an erasure would never find them.
    current = {document.file.name, document.thumbnail.name}
    delete_after_commit((document.file.storage, name) for name in replaced if name not in current)


def mark_failed(document, error):
    document.status = GeneratedDocument.Status.FAILED
    document.failure_reason = f"{error}"[:1000] or type(error).__name__
    document.finished_at = timezone.now()
    document.save(update_fields=["status", "failure_reason", "finished_at"])


def documents_due_for_rendering():
    """(spa_id, document_id) of documents waiting longer than a minute, or abandoned by a dead worker."""
    now = timezone.now()
    with scopes_disabled():
        return list(
            GeneratedDocument.objects.filter(
                Q(status=GeneratedDocument.Status.QUEUED, requested_at__lt=now - timedelta(minutes=1))
                | Q(status=GeneratedDocument.Status.RENDERING, started_at__lt=now - RENDER_LEASE)
            ).values_list("spa_id", "pk")[:200]
        )
