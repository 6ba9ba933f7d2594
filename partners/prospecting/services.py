"""Writes for prospecting: starting the import of chosen registry providers as prospect practices.

``prospect_import_start`` (the request) keeps the chosen providers on a ``ProspectImport`` and enqueues the worker
after commit; the worker (``importer.py``, run by ``tasks.py``) imports them step by step and the import's page
polls its progress.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from infra.audit import audit_record

from ..models import ProspectImport
from .candidates import candidate_to_json
from .tasks import prospect_import_task

logger = logging.getLogger(__name__)

MAX_IMPORT = 200  # one search's results at most (sources.py asks the registry for 200)


# --- the request: keep the choice, start the worker ---------------------------------------------------------------


@transaction.atomic
def prospect_import_start(*, spa, actor, candidates, specialty, source_name, search=""):
    """Keep the chosen providers on a new import and start its worker after commit."""
    if not candidates:
        raise ValidationError(_("Choose at least one practice or clinician to import."))
    if len(candidates) > MAX_IMPORT:
        raise ValidationError(_("Import at most %(count)s at once.") % {"count": MAX_IMPORT})
    job = ProspectImport.objects.create(
        spa=spa,
        source=source_name,
        specialty=specialty,
        search=search[:300],
        candidates=[candidate_to_json(candidate) for candidate in candidates],
        total=len(candidates),
        created_by=actor,
    )
    audit_record(
        spa=spa,
        action="prospects.import_started",
        actor=actor,
        obj=job,
        detail={"source": source_name, "specialty": specialty, "npis": [c.npi for c in candidates]},
    )
    transaction.on_commit(lambda: _enqueue(spa.pk, job.pk))
    return job


def _enqueue(spa_id, job_id):
    try:
        prospect_import_task.delay(spa_id, job_id)
    except Exception:  # noqa: BLE001 - broker down: the sweep starts the import within a few minutes
        logger.warning("Could not enqueue prospect import %s.", job_id, exc_info=True)
