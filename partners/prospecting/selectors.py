"""Reads for prospecting: a registry search marked against the spa's practices, and practices by distance."""

from django.utils.translation import gettext as _

from infra.geo import distance_km

from ..duplicates import DuplicateIndex, DuplicateMatch
from ..models import Clinician, Practice


class _KnownNpis:
    """Clinician NPIs the spa already has: a clinician imported from the registry sits in a practice without one."""

    def __init__(self, spa):
        clinicians = Clinician.objects.filter(spa=spa).exclude(npi="").select_related("practice")
        self.by_npi = {clinician.npi: clinician.practice for clinician in clinicians}

    def match(self, npi):
        practice = self.by_npi.get(npi)
        if practice is None:
            return None
        return DuplicateMatch(practice.pk, str(practice.public_id), practice.name, practice.city, str(_("same NPI")))


def mark_duplicates(*, spa, candidates):
    """Fill each candidate's ``duplicates``: the spa's practices it is (same NPI) or resembles (partners.duplicates)."""
    index = DuplicateIndex.for_spa(spa)
    clinician_npis = _KnownNpis(spa)
    for candidate in candidates:
        candidate.duplicates = candidate_duplicates(candidate, index, clinician_npis)
    return candidates


def candidate_duplicates(candidate, index, clinician_npis):
    clinician_match = clinician_npis.match(candidate.npi)
    if candidate.is_clinician:
        # A clinician is not a practice: only their NPI, or their own practice's phone, says we have them.
        found = index.matches(npi=candidate.npi, phone=candidate.phone)
    else:
        found = index.matches(
            name=candidate.display_name, city=candidate.city, npi=candidate.npi, phone=candidate.phone
        )
    if clinician_match:
        # The same NPI is the surest reason: it goes first, and replaces a weaker reason for that same practice.
        found = [clinician_match, *(match for match in found if match.practice_id != clinician_match.practice_id)]
    return found


def practices_by_distance(*, spa, stages=None):
    """The spa's practices with ``distance_km`` set, nearest first; those without a known place last, by name."""
    practices = Practice.objects.filter(spa=spa).order_by("name")
    if stages:
        practices = practices.filter(stage__in=stages)
    practices = list(practices)
    for practice in practices:
        practice.distance_km = distance_km(spa.latitude, spa.longitude, practice.latitude, practice.longitude)
    return sorted(practices, key=lambda practice: (practice.distance_km is None, practice.distance_km or 0))
