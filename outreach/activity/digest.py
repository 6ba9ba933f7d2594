"""The morning task digest: one email per member per day of the spa's calendar, at the spa's digest hour
(or within a few hours after it, if beat was down), listing the member's overdue tasks and those due today.
Sent through the outbox.

The claim is a TaskDigest row unique per (spa, member, local date): whichever run inserts it first sends;
a second run, a second beat process or a redelivered message finds the row and sends nothing. A member
with nothing due is claimed too (without an email), so a task added later that day does not trigger a
second "morning" digest in the afternoon.
"""

import zoneinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from infra.outbox import email_enqueue
from spas.models import Membership

from ..models import Task, TaskDigest, outreach_settings_for

MAX_LISTED = 25
# A beat that was down at the digest hour catches up for a few hours; later in the day a "morning" digest
# would be noise, so that day is skipped.
CATCH_UP_HOURS = 4


def _due_tasks(spa, user, today):
    return list(
        Task.objects.filter(spa=spa, assignee=user, done_at=None, due_on__lte=today)
        .select_related("practice")
        .order_by("due_on", "id")
    )


def task_digests_send(*, spa, now=None):
    """Send today's digests for ``spa`` once its digest hour has come. Returns how many emails were queued."""
    now = now or timezone.now()
    local = timezone.localtime(now, zoneinfo.ZoneInfo(spa.timezone))
    digest_hour = outreach_settings_for(spa).digest_hour
    if not digest_hour <= local.hour < digest_hour + CATCH_UP_HOURS:
        return 0
    today = local.date()
    already = set(TaskDigest.objects.filter(spa=spa, local_date=today).values_list("user_id", flat=True))
    members = (
        Membership.objects.filter(spa=spa, user__is_active=True).exclude(user_id__in=already).select_related("user")
    )
    sent = 0
    for membership in members:
        user = membership.user
        tasks = _due_tasks(spa, user, today)
        try:
            with transaction.atomic():
                TaskDigest.objects.create(spa=spa, user=user, local_date=today, task_count=len(tasks))
                if tasks:
                    _enqueue(spa, user, tasks, today)
        except IntegrityError:  # another run claimed this member's digest first
            continue
        sent += bool(tasks)
    return sent


def _enqueue(spa, user, tasks, today):
    overdue = [task for task in tasks if task.due_on < today]
    email_enqueue(
        spa=spa,
        to=user.email,
        template_name="task-digest",
        context={
            "spa": spa,
            "user": user,
            "today": today,
            "overdue": overdue[:MAX_LISTED],
            "due_today": [task for task in tasks if task.due_on == today][:MAX_LISTED],
            "count": len(tasks),
            "overdue_count": len(overdue),
            "url": settings.SITE_URL + reverse("outreach:my_day", args=[spa.slug]),
        },
    )
