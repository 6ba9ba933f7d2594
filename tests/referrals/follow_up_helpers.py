"""A referral taken to completed the way staff do it, for the patient follow-up tests."""

import datetime
import zoneinfo

from django_scopes import scope
from freezegun import freeze_time

from referrals.models import Status
from referrals.services import referral_transition
from tests.factories import PracticeFactory, ReferralFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# Tuesday 3 March 2026, 14:00 in New York: the visit.
VISIT = datetime.datetime(2026, 3, 3, 14, 0, tzinfo=NEW_YORK)
HEALTH_DETAILS = ("eczema flare after chemotherapy", "no deep pressure on the left knee", "Dermatology")


def completed_referral(spa, owner, *, visit=VISIT, completed_at=None, practice=None, **fields):
    """A referral of ``spa`` scheduled for ``visit``, marked completed at ``completed_at`` (the visit's evening by
    default), which schedules the follow-up."""
    completed_at = completed_at or visit + datetime.timedelta(hours=4)
    with freeze_time(completed_at), scope(spa=spa):
        practice = practice or PracticeFactory(spa=spa, name="Glow Dermatology", specialty="dermatology")
        referral = ReferralFactory(
            spa=spa,
            practice=practice,
            status=Status.SCHEDULED,
            received_at=visit - datetime.timedelta(days=7),
            scheduled_for=visit,
            patient_email=fields.pop("patient_email", "ada@patient.example"),
            reason_text=HEALTH_DETAILS[0],
            precautions=HEALTH_DETAILS[1],
            **fields,
        )
        return referral_transition(referral=referral, to_status=Status.COMPLETED, actor=owner)
