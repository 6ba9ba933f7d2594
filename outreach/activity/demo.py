"""Demo touchpoints and tasks in serenity-spa: a lived-in history with the demo practices and a My day with
something overdue, something due today and something coming up. Idempotent: does nothing once the spa
has touchpoints."""

import datetime

from partners.models import Clinician, OfficeContact, Practice

from ..models import TaskKind, Touchpoint
from .selectors import spa_today
from .services import task_create, touchpoint_log

# (practice, kind, days ago, outcome, notes, next step)
TOUCHPOINTS = [
    ("Glow Dermatology", "client_introduction", 200, "positive", "Introduced by a long-time client, Mrs. Alvarez.", ""),
    (
        "Glow Dermatology",
        "letter",
        190,
        "",
        "Personalized introduction letter with the leave-behind.",
        "Call in 5 days",
    ),
    ("Glow Dermatology", "phone_call", 184, "positive", "Dr. Patel's office manager booked a lunch slot.", ""),
    ("Glow Dermatology", "lunch_presentation", 170, "positive", "Fifteen minutes on post-peel care; 8 staff.", ""),
    ("Glow Dermatology", "check_in", 80, "positive", "Shared the new LED therapy; they asked for more pads.", ""),
    ("Brookline Women's Health", "networking_event", 150, "positive", "Met Dr. Garcia at the women's health fair.", ""),
    ("Brookline Women's Health", "meeting", 120, "positive", "Walked through prenatal massage safety protocols.", ""),
    ("Brookline Women's Health", "staff_service", 110, "positive", "Complimentary facials for two nurses.", ""),
    ("Back Bay OB-GYN", "letter", 140, "", "Introduction letter.", ""),
    ("Back Bay OB-GYN", "phone_call", 130, "neutral", "Front desk busy; asked us to email.", "Email the leave-behind"),
    (
        "Riverside Physical Therapy",
        "continuing_education",
        100,
        "positive",
        "Sat together at the myofascial course.",
        "",
    ),
    ("Riverside Physical Therapy", "check_in", 100, "positive", "Quarterly check-in over coffee.", ""),
    ("Beacon Skin & Laser", "lunch_presentation", 21, "positive", "Presentation on sensitive-skin protocols.", ""),
    ("Charles River Dermatology", "meeting", 9, "neutral", "Dr. Okafor wants to see our credentials first.", ""),
    ("Clear Complexion Clinic", "letter", 12, "no_response", "Introduction letter sent.", "Follow-up call"),
]
# (practice, kind, title, due in days — negative is overdue)
TASKS = [
    ("Clear Complexion Clinic", TaskKind.PHONE_CALL, "Follow-up call about the introduction letter", -5),
    ("Charles River Dermatology", TaskKind.EMAIL, "Send Dr. Okafor our team's credentials", 0),
    ("Beacon Skin & Laser", TaskKind.FOLLOW_UP, "Drop off referral pads at the front desk", 0),
    ("Back Bay OB-GYN", TaskKind.EMAIL, "Email the prenatal leave-behind", 3),
    ("Harborview Mohs Surgery", TaskKind.LETTER, "Personalized introduction letter", 6),
]


def seed_activity(spa, owner):
    """Touchpoints and tasks for the demo practices; returns how many touchpoints were created."""
    if Touchpoint.objects.filter(spa=spa).exists():
        return 0
    practices = {practice.name: practice for practice in Practice.objects.filter(spa=spa)}
    today = spa_today(spa)
    created = 0
    for name, kind, days_ago, outcome, notes, next_step in TOUCHPOINTS:
        practice = practices.get(name)
        if practice is None:
            continue
        clinician = Clinician.objects.filter(spa=spa, practice=practice).first()
        contact = OfficeContact.objects.filter(spa=spa, practice=practice).first()
        touchpoint_log(
            spa=spa,
            practice=practice,
            kind=kind,
            occurred_on=today - datetime.timedelta(days=days_ago),
            outcome=outcome,
            notes=notes,
            next_step=next_step,
            clinicians=[clinician] if clinician and kind in ("meeting", "lunch_presentation", "check_in") else [],
            contacts=[contact] if contact and kind in ("phone_call", "staff_service") else [],
            actor=owner,
            close_task=False,
        )
        created += 1
    for name, kind, title, due_in in TASKS:
        practice = practices.get(name)
        if practice is None:
            continue
        task_create(
            spa=spa,
            title=title,
            kind=kind,
            due_on=today + datetime.timedelta(days=due_in),
            assignee=owner,
            practice=practice,
            created_by=owner,
        )
    return created
