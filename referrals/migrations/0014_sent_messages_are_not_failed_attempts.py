"""Sent messages stop counting as failed contact attempts (issue 21).

Until now "Sent a text or email" added one to a referral's failed attempts, so three emails made a patient
unreachable. For every referral that logged sent messages: take back what they added (only those logged before
the patient was reached counted); a referral that a count including them made unreachable, and that the corrected
count no longer makes unreachable, goes back to where it was, with a timeline line saying why; an open referral
whose latest attempt was a sent message gets the follow-up reminder it would get today.
"""

import datetime

from django.db import migrations
from django_scopes import scopes_disabled

from referrals.clock import add_business_days

ATTEMPT_STATUSES = ["accepted", "contacted", "unreachable"]
SAME_TRANSACTION = datetime.timedelta(seconds=5)
CORRECTION_NOTE = "Corrected: a sent message no longer counts as a failed attempt."


def uncount_sent_messages(apps, schema_editor):
    # Across every spa: with row-level security forced, the tables' owner sees rows only cross-tenant.
    with scopes_disabled():
        _uncount_sent_messages(apps)


def _uncount_sent_messages(apps):
    Referral = apps.get_model("referrals", "Referral")
    ReferralEvent = apps.get_model("referrals", "ReferralEvent")
    ReferralSettings = apps.get_model("referrals", "ReferralSettings")
    settings_by_spa = {row.spa_id: row for row in ReferralSettings.objects.all()}
    with_messages = (
        Referral.objects.filter(events__kind="attempt", events__outcome="message_sent")
        .distinct()
        .select_related("spa")
        .order_by("pk")
    )
    for referral in list(with_messages):
        rules = settings_by_spa.get(referral.spa_id)
        unreachable_after = rules.unreachable_after_attempts if rules else 3
        follow_up_days = rules.message_follow_up_business_days if rules else 2
        events = list(ReferralEvent.objects.filter(referral=referral).order_by("created_at", "id"))
        counted = [
            event
            for event in events
            if event.kind == "attempt"
            and event.outcome == "message_sent"
            and (referral.contacted_at is None or event.created_at < referral.contacted_at)
        ]
        changed = []
        if counted and referral.failed_attempts:
            referral.failed_attempts = max(referral.failed_attempts - len(counted), 0)
            changed.append("failed_attempts")
        if referral.status == "unreachable" and referral.contacted_at is None:
            moves = [index for index, event in enumerate(events) if event.kind == "status"]
            last_move = events[moves[-1]] if moves else None
            # Made unreachable by logging an attempt (the service writes the attempt, then the move, in the same
            # transaction), not by hand.
            attempt = events[moves[-1] - 1] if moves and moves[-1] > 0 else None
            by_attempt = (
                last_move is not None
                and last_move.to_status == "unreachable"
                and attempt is not None
                and attempt.kind == "attempt"
                and attempt.actor_id == last_move.actor_id
                and last_move.created_at - attempt.created_at < SAME_TRANSACTION
            )
            if by_attempt and referral.failed_attempts < unreachable_after:
                referral.status = last_move.from_status or "accepted"
                changed.append("status")
                ReferralEvent.objects.create(
                    spa_id=referral.spa_id,
                    referral=referral,
                    kind="status",
                    from_status="unreachable",
                    to_status=referral.status,
                    note=CORRECTION_NOTE,
                    actor_label="Referral rules",
                )
        attempts = [event for event in events if event.kind == "attempt"]
        if (
            referral.status in ATTEMPT_STATUSES
            and referral.follow_up_due_at is None
            and attempts
            and attempts[-1].outcome == "message_sent"
        ):
            referral.follow_up_due_at = add_business_days(
                attempts[-1].created_at, follow_up_days, referral.spa.timezone
            )
            changed.append("follow_up_due_at")
        if changed:
            referral.version += 1
            referral.save(update_fields=[*changed, "version"])


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0013_attempt_outcomes_and_message_follow_up"),
    ]

    operations = [migrations.RunPython(uncount_sent_messages, migrations.RunPython.noop)]
