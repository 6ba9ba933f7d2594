"""Rendering a batch of letters: each part in turn (progress on the parent), then one combined PDF.

Idempotent: a part already ready is skipped, a part another worker is rendering is waited for, and a
batch that is ready is left alone, so a redelivered message or a second task does no harm. The
parent's ``started_at`` is refreshed with every part, so the documents sweep (which takes over
documents idle for ten minutes) leaves a live batch alone.
"""

import io
import logging
import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.documents import mark_failed, save_rendered
from infra.models import GeneratedDocument
from infra.pdf import render_template_to_pdf
from partners.models import Practice
from referrals.pads.documents import logo_data_uri
from spas import catalog

from ..models import LetterBatch, LetterTemplate
from .documents import LETTER_TEMPLATE, brand_colour, letter_for, owner_name

logger = logging.getLogger(__name__)

BATCH_LEASE = timedelta(minutes=3)  # no progress for this long: the worker holding the batch died
PART_WAIT_SECONDS = 150  # how long to wait for a part another worker is rendering
Status = GeneratedDocument.Status


def _claim(model_filter, lease):
    now = timezone.now()
    return (
        GeneratedDocument.objects.filter(model_filter)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.RENDERING, started_at__lt=now - lease))
        .update(status=Status.RENDERING, started_at=now)
        == 1
    )


def _heartbeat(parent):
    parent.progress_done = parent.parts.filter(status=Status.READY).count()
    parent.started_at = timezone.now()
    GeneratedDocument.objects.filter(pk=parent.pk).update(
        progress_done=parent.progress_done, started_at=parent.started_at
    )


def _wait_for(part):
    deadline = time.monotonic() + PART_WAIT_SECONDS
    while time.monotonic() < deadline:
        part.refresh_from_db()
        if part.status in (Status.READY, Status.FAILED):
            return
        if _claim(Q(pk=part.pk), timedelta(seconds=PART_WAIT_SECONDS)):
            part.status = Status.RENDERING
            return
        time.sleep(0.5)


def letter_batch_render(parent_id):
    """Render a batch's parts, then combine them. Returns the parent's status (None if not claimed)."""
    if not _claim(Q(pk=parent_id, kind="letter_batch"), BATCH_LEASE):
        return None
    parent = GeneratedDocument.objects.select_related("spa").get(pk=parent_id)
    spa = parent.spa
    try:
        batch = LetterBatch.objects.filter(spa=spa, public_id=parent.source_id).first()
        template = LetterTemplate.objects.filter(spa=spa, public_id=parent.options.get("template")).first()
        if batch is None or template is None:
            raise ValueError(_("The letter template of this batch no longer exists."))
        today = catalog.spa_today(spa)
        shared = {"spa": spa, "brand_colour": brand_colour(spa), "logo_data_uri": logo_data_uri(spa)}
        owner = owner_name(spa)
        signature_name = parent.options.get("signature_name", "")
        practices = {
            str(practice.public_id): practice
            for practice in Practice.objects.filter(spa=spa, public_id__in=batch.practice_ids).prefetch_related(
                "clinicians"
            )
        }
        failed = []
        for part in parent.parts.order_by("id"):
            if part.status == Status.READY:
                continue
            if not _claim(Q(pk=part.pk), BATCH_LEASE):
                _wait_for(part)  # another worker (the sweep) has it
                if part.status != Status.RENDERING:
                    failed += [part.title] if part.status == Status.FAILED else []
                    _heartbeat(parent)
                    continue
            practice = practices.get(part.source_id)
            try:
                if practice is None:
                    raise ValueError(_("The practice no longer exists."))
                letter = letter_for(spa, practice, template, signature_name=signature_name, today=today, owner=owner)
                rendered = render_template_to_pdf(LETTER_TEMPLATE, {**shared, "letters": [letter]})
                save_rendered(part, rendered.content, rendered.page_count)
            except Exception as error:  # noqa: BLE001 - one bad letter is reported, the rest still print
                logger.exception("Letter %s of batch %s failed", part.pk, parent_id)
                mark_failed(part, error)
                failed.append(part.title)
            _heartbeat(parent)
        if failed:
            raise ValueError(
                _("%(count)s letters could not be made: %(titles)s")
                % {"count": len(failed), "titles": ", ".join(failed[:5])}
            )
        content, page_count = _combine(parent)
        save_rendered(parent, content, page_count)
    except Exception as error:  # noqa: BLE001 - recorded where the user sees it
        logger.exception("Letter batch %s failed", parent_id)
        mark_failed(parent, error)
        if not isinstance(error, ValueError):
            raise
    return parent.status


def _combine(parent):
    """One PDF for printing: every part, in the batch's order."""
    # pypdf (~30 MB) is imported only where a batch is combined, not by every process that loads the tasks.
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parent.parts.order_by("id"):
        with part.file.open("rb") as handle:
            writer.append(PdfReader(io.BytesIO(handle.read())))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), len(writer.pages)
