"""Celery tasks of the outreach app: the module Celery autodiscovers.

Tasks import services, never the other way round. The scheduled jobs are here; a task that a service enqueues
lives beside that service in its room (``letters/tasks.py``) and is imported here so every worker registers it.
"""

from celery import shared_task

from spas.tenancy import for_each_spa

from .activity.digest import task_digests_send
from .campaigns.services import campaigns_advance
from .health.checkins import check_ins_create_due
from .health.nudges import fresh_approaches_create, thank_you_suggestions_create
from .health.snapshots import refresh_stale_spas

# Celery autodiscovers this module only: importing the tasks kept beside their services registers them too.
from .letters.tasks import letter_batch_render_task  # noqa: F401

# --- scheduled relationship work (the beat schedule is in spa_referrals/celery.py) -----------------
# Each job runs over all spas, spa by spa inside its scope; each is idempotent by construction (the
# tasks it creates carry a dedupe key, digests a unique row per member and day).


@shared_task(name="outreach.tasks.task_digests_send_task", soft_time_limit=540, time_limit=600)
def task_digests_send_task():
    """Every 15 minutes: the morning digest for members whose spa's digest hour has come (once a day each)."""
    return for_each_spa(lambda spa: task_digests_send(spa=spa))


@shared_task(name="outreach.tasks.check_ins_create_due_task", soft_time_limit=540, time_limit=600)
def check_ins_create_due_task():
    """Hourly: a check-in task for each active partner that is due one, and one email per assignee."""
    return for_each_spa(lambda spa: check_ins_create_due(spa=spa))


@shared_task(name="outreach.tasks.thank_you_suggestions_task", soft_time_limit=540, time_limit=600)
def thank_you_suggestions_task():
    """Every 15 minutes: suggest a thank-you note where a practice's referral arrived (at most weekly)."""
    return for_each_spa(lambda spa: thank_you_suggestions_create(spa=spa))


@shared_task(name="outreach.tasks.fresh_approaches_task", soft_time_limit=540, time_limit=600)
def fresh_approaches_task():
    """Daily: declined and dormant practices resurface for a fresh approach after the spa's period."""
    return for_each_spa(lambda spa: fresh_approaches_create(spa=spa))


@shared_task(name="outreach.tasks.campaigns_advance_task", soft_time_limit=540, time_limit=600)
def campaigns_advance_task():
    """Hourly: running campaigns create the tasks whose time has come and finish when all are done."""
    return for_each_spa(lambda spa: campaigns_advance(spa=spa))


@shared_task(name="outreach.tasks.partner_health_refresh_task", soft_time_limit=540, time_limit=600)
def partner_health_refresh_task():
    """Every 15 minutes: the partner health of each spa whose day has turned since its partners were assessed (so
    shortly after the spa's midnight), spa by spa."""
    return refresh_stale_spas()
