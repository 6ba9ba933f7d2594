"""Demo objections: the default library and a few months of objections logged at the demo practices, so the
summary shows which concerns come up and which answers work.

Idempotent: a spa that already has logged objections is left alone.
"""

import datetime

from django_scopes import scope

from partners.models import Practice

from ..activity.selectors import spa_today
from ..models import ObjectionLog, ObjectionResponse
from .services import objection_library_ensure, objection_log_create

# (practice name, days ago, category, start of the prepared response's objection or None, outcome, what was said, notes)
DEMO_LOGS = [
    (
        "Charles River Dermatology",
        9,
        "qualifications",
        "How do I know",
        "resolved",
        "Dr. Okafor asked who trains the estheticians on post-laser skin.",
        "Left the credentials sheet; he asked for the post-procedure protocol.",
    ),
    (
        "Contour Plastic Surgery",
        16,
        "safety",
        "I'm worried",
        "partly",
        "Wants to be sure nobody massages near fresh incisions.",
        "Send the written contraindication protocol before the next visit.",
    ),
    ("Clear Complexion Clinic", 23, "too_busy", "We're too busy", "resolved", "We have no time for meetings.", ""),
    (
        "Longwood Primary Care",
        37,
        "too_busy",
        "Send me something",
        "unresolved",
        "Office manager asked for something in writing.",
        "Mailed the leave-behind; call again in two weeks.",
    ),
    (
        "Brookline Spine & Sport PT",
        51,
        "value_unclear",
        "How would I know",
        "resolved",
        "How would we know it helps our patients?",
        "Liked the outcome report with the patient's permission.",
    ),
    (
        "Jamaica Plain Midwives",
        64,
        "safety",
        "Is massage safe",
        "resolved",
        "Asked about first-trimester massage.",
        "Explained we start from the second trimester with clearance for high-risk pregnancies.",
    ),
    (
        "Peak Sports Medicine",
        88,
        "ethics_gifts",
        "We don't accept gifts",
        "resolved",
        "Compliance worry about lunch presentations.",
        "",
    ),
    (
        "Mind & Body Integrative Health",
        120,
        "other",
        "We already refer",
        "partly",
        "Already refers to a spa nearby.",
        "",
    ),
    ("Back in Balance Chiro", 200, "too_busy", None, "unresolved", "Too busy to take on new partners this year.", ""),
    (
        "Cambridge Oncology Associates",
        410,
        "qualifications",
        "Who would actually",
        "partly",
        "Wanted to know which therapists are oncology-trained.",
        "",
    ),
]


def seed_objections(spa, owner):
    """Seed the library and the demo objections. Returns how many objections were logged."""
    with scope(spa=spa):
        objection_library_ensure(spa=spa)
        if ObjectionLog.objects.filter(spa=spa).exists():
            return 0
        practices = {practice.name: practice for practice in Practice.objects.filter(spa=spa)}
        responses = list(ObjectionResponse.objects.filter(spa=spa, archived_at=None))
        today = spa_today(spa)
        created = 0
        fallback = list(practices.values())
        for index, (name, days_ago, category, answer, outcome, raised, notes) in enumerate(DEMO_LOGS):
            practice = practices.get(name) or (fallback[index % len(fallback)] if fallback else None)
            if practice is None:
                break
            response = next(
                (row for row in responses if answer and row.category == category and row.objection.startswith(answer)),
                None,
            )
            objection_log_create(
                spa=spa,
                practice=practice,
                category=category,
                raised=raised,
                response=response,
                outcome=outcome,
                notes=notes,
                raised_on=today - datetime.timedelta(days=days_ago),
                actor=owner,
            )
            created += 1
        return created
