"""The prospect import's worker: the chosen providers the spa lacks become prospects, a step at a time.

``prospect_import_run`` imports ``IMPORT_STEP`` providers per transaction; each step creates its practices, writes
its audit event and moves the import's ``done`` forward, so the page polling the import sees real progress and a
killed worker loses at most the step it was in (rolled back whole, done again by the next worker).
``prospect_imports_due`` lists the imports whose enqueue was lost (a broker outage) or whose worker died, for the
sweep.
"""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from infra.audit import audit_record
from infra.phones import normalize_phone

from ..duplicates import DuplicateIndex
from ..models import Practice, ProspectImport, Stage
from ..services import clinician_save, practice_create
from .candidates import candidate_from_json
from .selectors import _KnownNpis, candidate_duplicates

logger = logging.getLogger(__name__)

IMPORT_STEP = 10  # providers per transaction: small enough for the bar to move, large enough to be quick
IMPORT_LEASE = timedelta(minutes=2)  # a running import without a step for this long lost its worker
ENQUEUE_GRACE = timedelta(minutes=1)  # a queued import nobody started for this long lost its enqueue
Status = ProspectImport.Status


# --- one step: the providers the spa lacks become prospects -----------------------------------------------------


def _practice_fields(spa, candidate, specialty):
    try:
        phone = normalize_phone(candidate.phone, spa.country)
    except ValidationError:
        phone = ""  # the registry holds some numbers no phone plan knows; the practice is still worth having
    return {
        "name": candidate.display_name[:160],
        "specialty": specialty,
        "address": candidate.address[:255],
        "city": candidate.city[:80],
        "state": candidate.state[:2],
        "postal_code": candidate.postal_code,
        "phone": phone,
        # A clinician's NPI is theirs, not their practice's: it goes on the clinician below.
        "npi": "" if candidate.is_clinician else candidate.npi,
        "source": Practice.Source.DIRECTORY,
        "stage": Stage.PROSPECT,
    }


def _import_one(spa, actor, candidate, specialty):
    practice = practice_create(spa=spa, actor=actor, fields=_practice_fields(spa, candidate, specialty))
    if candidate.is_clinician:
        clinician_save(
            practice=practice,
            actor=actor,
            fields={
                "first_name": candidate.first_name[:80] or "—",
                "last_name": candidate.last_name[:80] or "—",
                "credentials": candidate.credential[:60],
                "npi": candidate.npi,
            },
        )
    return practice


def _import_step(job, candidates):
    """Import ``candidates`` for ``job`` (inside the caller's transaction); returns (created, skipped) entries."""
    spa, actor = job.spa, job.created_by
    # Locked so two imports of the same providers at once cannot both create the practice.
    list(Practice.objects.select_for_update().filter(spa=spa).values_list("pk", flat=True))
    index, clinician_npis = DuplicateIndex.for_spa(spa), _KnownNpis(spa)
    created, skipped = [], []
    for candidate in candidates:
        duplicates = candidate_duplicates(candidate, index, clinician_npis)
        if duplicates:
            match = duplicates[0]
            skipped.append(
                {
                    "npi": candidate.npi,
                    "name": candidate.display_name,
                    "match_id": match.public_id,
                    "match_name": match.name,
                    "reason": match.reason,
                }
            )
            continue
        practice = _import_one(spa, actor, candidate, job.specialty)
        if candidate.is_clinician:
            clinician_npis.by_npi[candidate.npi] = practice
        index.add(practice)
        created.append(str(practice.public_id))
    audit_record(
        spa=spa,
        action="prospects.imported",
        actor=actor,
        obj=job,
        detail={
            "source": job.source,
            "specialty": job.specialty,
            "created": created,
            "skipped_npis": [entry["npi"] for entry in skipped],
        },
    )
    return created, skipped


# --- the worker -----------------------------------------------------------------------------------------------------


def _startable(now):
    """Imports that should be running and are not: queued, or running without a heartbeat for IMPORT_LEASE."""
    return Q(status=Status.QUEUED) | Q(status=Status.RUNNING, heartbeat_at__lt=now - IMPORT_LEASE)


def _claim(job_id, now):
    """Take the import: a queued one, or a running one whose worker stopped sending heartbeats."""
    return (
        ProspectImport.objects.filter(_startable(now), pk=job_id).update(status=Status.RUNNING, heartbeat_at=now) == 1
    )


def prospect_import_run(job_id):
    """Import a claimed import's providers step by step; returns its status (None when another worker has it)."""
    if not _claim(job_id, timezone.now()):
        return None
    while True:
        with transaction.atomic():
            job = (
                ProspectImport.objects.select_for_update(of=("self",))
                .select_related("spa", "created_by")
                .get(pk=job_id)
            )
            if job.status != Status.RUNNING:
                return job.status
            if job.done >= job.total:
                return _finish(job)
            step = [candidate_from_json(data) for data in job.candidates[job.done : job.done + IMPORT_STEP]]
            try:
                with transaction.atomic():
                    created, skipped = _import_step(job, step)
            except Exception as error:
                logger.exception("Prospect import %s failed", job_id)
                return _fail(job, error)
            job.done += len(step)
            job.created_ids += created
            job.skipped += skipped
            job.heartbeat_at = timezone.now()
            job.save(update_fields=["done", "created_ids", "skipped", "heartbeat_at"])


def _finish(job):
    job.status, job.finished_at = Status.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job.status


def _fail(job, error):
    job.status, job.finished_at = Status.FAILED, timezone.now()
    job.error = _("The import stopped after %(done)s of %(total)s: %(reason)s") % {
        "done": job.done,
        "total": job.total,
        "reason": str(error)[:200],
    }
    job.save(update_fields=["status", "finished_at", "error"])
    return job.status


def prospect_imports_due(now=None):
    """(spa id, import id) of every import that should be running and is not: for the sweep, across spas.

    A queued import gets ENQUEUE_GRACE first: its worker may be on its way."""
    now = now or timezone.now()
    with scopes_disabled():
        due = ProspectImport.objects.filter(_startable(now)).exclude(
            status=Status.QUEUED, created_at__gte=now - ENQUEUE_GRACE
        )
        return list(due.order_by("pk").values_list("spa_id", "pk")[:100])
