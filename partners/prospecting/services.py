"""Writes for prospecting: importing chosen registry providers as prospect practices."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from infra.audit import audit_record
from infra.phones import normalize_phone

from ..duplicates import DuplicateIndex
from ..models import Practice, Stage
from ..services import clinician_save, practice_create
from .selectors import _KnownNpis, candidate_duplicates


@dataclass
class ProspectImportResult:
    created: list = field(default_factory=list)  # the new practices
    skipped: list = field(default_factory=list)  # (candidate, the reason) for those the spa already has


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


@transaction.atomic
def prospects_import(*, spa, actor, candidates, specialty, source_name):
    """Create a prospect practice (and, for an individual NPI, its clinician) for each candidate the spa lacks."""
    result = ProspectImportResult()
    # Locked so two people importing the same search at once cannot both create the practice.
    list(Practice.objects.select_for_update().filter(spa=spa).values_list("pk", flat=True))
    index, clinician_npis = DuplicateIndex.for_spa(spa), _KnownNpis(spa)
    for candidate in candidates:
        duplicates = candidate_duplicates(candidate, index, clinician_npis)
        if duplicates:
            result.skipped.append((candidate, duplicates[0]))
            continue
        practice = practice_create(spa=spa, actor=actor, fields=_practice_fields(spa, candidate, specialty))
        if candidate.is_clinician:
            clinician = clinician_save(
                practice=practice,
                actor=actor,
                fields={
                    "first_name": candidate.first_name[:80] or "—",
                    "last_name": candidate.last_name[:80] or "—",
                    "credentials": candidate.credential[:60],
                    "npi": candidate.npi,
                },
            )
            clinician_npis.by_npi[clinician.npi] = practice
        index.add(practice)
        result.created.append(practice)
    audit_record(
        spa=spa,
        action="prospects.imported",
        actor=actor,
        object_type="partners.practice",
        detail={
            "source": source_name,
            "specialty": specialty,
            "created": [str(practice.public_id) for practice in result.created],
            "skipped_npis": [candidate.npi for candidate, _match in result.skipped],
        },
    )
    return result
