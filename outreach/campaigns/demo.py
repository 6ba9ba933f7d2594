"""Demo campaign: one running campaign over a few demo practices, ten days in, with some steps done.

In serenity-spa it introduces sports massage to the three sports-medicine practices: every letter went out
nine days ago; two practices took the follow-up call (their lunch-presentation invitation is coming up),
the third call is overdue. Idempotent: does nothing once the spa has a campaign.
"""

import datetime

from django.utils import timezone

from partners.models import Practice

from ..activity.selectors import spa_day_start, spa_today
from ..activity.services import touchpoint_log
from ..models import Campaign, CampaignEnrollment, LetterTemplate, Task, TaskKind, TouchpointOutcome
from .selectors import segment_practices
from .services import campaign_save

LETTER_NAME = "Introduction to our therapeutic massage"
LETTER_BODY = (
    "Dear {clinician_title_name},\n\n"
    "I am writing from {spa_name} to introduce the therapeutic and sports massage our licensed therapists offer "
    "to patients of {practice_name}. We work from your treatment plan, keep you informed with a short outcome "
    "report when the patient allows it, and never go beyond what you advise.\n\n"
    "{offer}\n\n"
    "Referring is simple: your patients can call {spa_phone}, or your front desk can send a referral through our "
    "secure portal in under a minute. I will call your office next week to answer any questions.\n\n"
    "With best wishes,\n{signature_name}"
)
# Segments tried in order: the first that matches 3 to 5 practices is the demo campaign's.
CANDIDATE_SEGMENTS = [
    ({"specialty": "sports_medicine"}, "Sports massage for sports-medicine practices"),
    ({"specialty": "physical_therapy"}, "Recovery massage for physical therapists"),
    ({"stage": "researched"}, "Introductions to researched practices"),
    ({"stage": "prospect"}, "Introductions to new prospects"),
    ({}, "Introductions"),
]
LAUNCHED_DAYS_AGO = 10
LETTERS_SENT_DAYS_AGO = 9
CALLS_DAYS_AGO = 3


def _letter_template(spa):
    template = LetterTemplate.objects.filter(spa=spa).order_by("created_at", "pk").first()
    return template or LetterTemplate.objects.create(spa=spa, name=LETTER_NAME, body=LETTER_BODY)


def _segment(spa):
    for segment, name in CANDIDATE_SEGMENTS:
        if 3 <= segment_practices(spa=spa, segment=segment).count() <= 5:
            return segment, name
    return None, None


def _backdate_done(task, day, hour=10):
    done_at = spa_day_start(task.spa, day) + datetime.timedelta(hours=hour)
    Task.objects.filter(pk=task.pk).update(done_at=done_at)


def seed_campaigns(spa, owner):
    """The running demo campaign for ``spa``; returns how many campaigns were created (0 or 1)."""
    if Campaign.objects.filter(spa=spa).exists() or not Practice.objects.filter(spa=spa).exists():
        return 0
    segment, name = _segment(spa)
    if segment is None:
        return 0
    today = spa_today(spa)
    campaign = campaign_save(
        spa=spa,
        actor=owner,
        fields={
            "name": name,
            "description": "Introduce our therapeutic massage: a letter, a follow-up call, then an invitation to a "
            "15-minute lunch presentation for the office.",
            "owner": None,
        },
        segment=segment,
        steps=[
            {"kind": TaskKind.LETTER, "days_after_previous": 0, "letter_template": _letter_template(spa)},
            {"kind": TaskKind.PHONE_CALL, "title": "Follow-up call about the letter", "days_after_previous": 5},
            {
                "kind": TaskKind.LUNCH_PRESENTATION,
                "title": "Invite to a 15-minute lunch presentation",
                "days_after_previous": 14,
            },
        ],
        launch=True,
    )
    launched_at = timezone.now() - datetime.timedelta(days=LAUNCHED_DAYS_AGO)
    launch_day = spa_today(spa, launched_at)
    Campaign.objects.filter(pk=campaign.pk).update(launched_at=launched_at, created_at=launched_at)
    CampaignEnrollment.objects.filter(campaign=campaign).update(enrolled_at=launched_at)
    Task.objects.filter(campaign_enrollment__campaign=campaign).update(due_on=launch_day, created_at=launched_at)
    campaign.refresh_from_db()

    letters_day = today - datetime.timedelta(days=LETTERS_SENT_DAYS_AGO)
    calls_day = today - datetime.timedelta(days=CALLS_DAYS_AGO)
    enrollments = list(CampaignEnrollment.objects.filter(campaign=campaign).select_related("practice"))
    for index, enrollment in enumerate(enrollments):
        practice = enrollment.practice
        # The letter went out: logging it closes the letter step; the call is then due five days later.
        letter = touchpoint_log(
            spa=spa,
            practice=practice,
            kind="letter",
            occurred_on=letters_day,
            actor=owner,
            notes="Personalized introduction letter, with the leave-behind.",
            campaign=campaign,
        )
        for task in Task.objects.filter(touchpoint=letter).select_related("spa"):
            _backdate_done(task, letters_day)
        if index < 2:
            call = touchpoint_log(
                spa=spa,
                practice=practice,
                kind="phone_call",
                occurred_on=calls_day,
                actor=owner,
                outcome=TouchpointOutcome.POSITIVE,
                notes="Spoke with the office manager; they would welcome a short lunch presentation.",
                next_step="Propose two dates for the lunch presentation",
                campaign=campaign,
            )
            for task in Task.objects.filter(touchpoint=call).select_related("spa"):
                _backdate_done(task, calls_day, hour=14)
    return 1
