"""Letter writes: letter templates, letter batches (render task enqueued after commit) and leave-behind requests."""

import hashlib
import json
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.documents import document_request
from infra.models import GeneratedDocument

from ..models import LeaveBehind, LetterBatch
from .documents import letter_batch_title, letter_batch_version, letter_title, letter_version
from .tasks import letter_batch_render_task

logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 500


@transaction.atomic
def letter_template_save(*, spa, template, actor):
    """Validate (unknown placeholders are refused) and save a new or edited letter template."""
    creating = template.pk is None
    template.spa = spa
    template.full_clean()
    if creating:
        template.save()
    else:
        template.save(update_fields=["name", "body", "updated_at"])
    audit_record(
        spa=spa,
        action=f"letter_template.{'created' if creating else 'updated'}",
        actor=actor,
        obj=template,
    )
    return template


def _signature_name(user):
    return user.display_name if user is not None and user.is_authenticated else ""


def letter_request(*, spa, practice, template, requested_by):
    """One practice's letter from ``template``: the existing document, or one queued for rendering."""
    return document_request(
        spa=spa,
        kind="letter",
        source=practice,
        options={"template": str(template.public_id), "signature_name": _signature_name(requested_by)},
        requested_by=requested_by,
    )


def leave_behind_request(*, spa, specialty, practice=None, requested_by, paper="letter"):
    """The leave-behind for a specialty, personalized for ``practice`` when one is given, on Letter or A4."""
    # Letter keeps the options it always had, so a Letter leave-behind already made is found again.
    paper_option = {"paper": "a4"} if paper == "a4" else {}
    if practice is not None:
        return document_request(
            spa=spa,
            kind="leave_behind_practice",
            source=practice,
            options={"specialty": specialty, **paper_option},
            requested_by=requested_by,
        )
    leave_behind, _created = LeaveBehind.objects.get_or_create(spa=spa, specialty=specialty)
    return document_request(
        spa=spa,
        kind="leave_behind",
        source=leave_behind,
        options=paper_option,
        requested_by=requested_by,
    )


def _options_key(options):
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()


@transaction.atomic
def letter_batch_create(*, spa, template, practices, requested_by):
    """A batch of letters: a parent document (progress, combined PDF) and one queued part per practice.

    The render task is enqueued after commit; the documents page shows the parent's progress.
    """
    practices = list(dict.fromkeys(practices))
    if not practices:
        raise ValueError(_("Choose at least one practice."))
    if len(practices) > MAX_BATCH_SIZE:
        raise ValueError(_("A batch holds at most %(count)s letters.") % {"count": MAX_BATCH_SIZE})
    actor = requested_by if requested_by is not None and requested_by.is_authenticated else None
    batch = LetterBatch.objects.create(
        spa=spa,
        template=template,
        practice_ids=[str(practice.public_id) for practice in practices],
        created_by=actor,
    )
    options = {"template": str(template.public_id), "signature_name": _signature_name(requested_by)}
    parent = GeneratedDocument.objects.create(
        spa=spa,
        kind="letter_batch",
        title=letter_batch_title(batch, options)[:200],
        source_type="outreach.LetterBatch",
        source_id=str(batch.public_id),
        source_version=letter_batch_version(batch),
        options=options,
        options_key=_options_key(options),
        progress_total=len(practices),
        requested_by=actor,
    )
    now = timezone.now()
    GeneratedDocument.objects.bulk_create(
        [
            GeneratedDocument(
                spa=spa,
                kind="letter",
                title=letter_title(practice, options)[:200],
                source_type="partners.Practice",
                source_id=str(practice.public_id),
                source_version=letter_version(practice),
                options=options,
                options_key=_options_key(options),
                batch=parent,
                requested_by=actor,
                requested_at=now,
            )
            for practice in practices
        ]
    )
    batch.document = parent
    batch.save(update_fields=["document"])
    audit_record(
        spa=spa,
        action="letter_batch.created",
        actor=actor,
        obj=batch,
        detail={"template": str(template.public_id), "count": len(practices)},
    )
    _enqueue_batch(spa.pk, parent.pk)
    return batch


def _enqueue_batch(spa_id, document_id):
    def send():
        try:
            letter_batch_render_task.delay(spa_id, document_id)
        except Exception:  # noqa: BLE001 - broker down: the documents sweep renders the combined PDF
            logger.warning("Could not enqueue letter batch %s.", document_id, exc_info=True)

    transaction.on_commit(send)
