"""Referral pads, the writes: queue a pad for a practice (or one of its clinicians), issuing a missing code."""

from django.db import transaction

from infra import documents
from partners.services import referral_code_issue

from .documents import KIND, _clinician_codes


@transaction.atomic
def referral_pad_request(*, spa, practice, requested_by, paper, pages, clinician=None):
    """Queue (or reuse) a referral pad for the practice or one of its clinicians, issuing a missing code first."""
    if clinician is not None and not _clinician_codes(practice).get(clinician.pk):
        referral_code_issue(spa=spa, practice=practice, clinician=clinician)
    elif clinician is None and not practice.referral_code:
        referral_code_issue(spa=spa, practice=practice)
    options = {"paper": paper, "pages": pages, "clinician": str(clinician.public_id) if clinician else None}
    return documents.document_request(spa=spa, kind=KIND, source=practice, requested_by=requested_by, options=options)
