"""Celery tasks of the outreach app."""

from celery import shared_task

from spas.tenancy import for_each_spa

# Celery autodiscovers this module only: importing the tasks kept beside their services registers them too.
from .letters.tasks import letter_batch_render_task  # noqa: F401

# --- scheduled relationship work (the beat schedule is in spa_referrals/celery.py) -----------------
# Each job runs over all spas, spa by spa inside its scope; each is idempotent by construction (the
# tasks it creates carry a dedupe key, digests a unique row per member and day).


@shared_task(name="outreach.tasks.task_digests_send_task", soft_time_limit=540, time_limit=600)
def task_digests_send_task():
    """Every 15 minutes: the morning digest for members whose spa's digest hour has come (once a day each)."""
    from .activity.digest import task_digests_send

    return for_each_spa(lambda spa: task_digests_send(spa=spa))


@shared_task(name="outreach.tasks.check_ins_create_due_task", soft_time_limit=540, time_limit=600)
def check_ins_create_due_task():
    """Hourly: a check-in task for each active partner that is due one, and one email per assignee."""
    from .checkins import check_ins_create_due

    return for_each_spa(lambda spa: check_ins_create_due(spa=spa))


@shared_task(name="outreach.tasks.thank_you_suggestions_task", soft_time_limit=540, time_limit=600)
def thank_you_suggestions_task():
    """Every 15 minutes: suggest a thank-you note where a practice's referral arrived (at most weekly)."""
    from .nudges import thank_you_suggestions_create

    return for_each_spa(lambda spa: thank_you_suggestions_create(spa=spa))


@shared_task(name="outreach.tasks.fresh_approaches_task", soft_time_limit=540, time_limit=600)
def fresh_approaches_task():
    """Daily: declined and dormant practices resurface for a fresh approach after the spa's period."""
    from .nudges import fresh_approaches_create

    return for_each_spa(lambda spa: fresh_approaches_create(spa=spa))


@shared_task(name="outreach.tasks.campaigns_advance_task", soft_time_limit=540, time_limit=600)
def campaigns_advance_task():
    """Hourly: running campaigns create the tasks whose time has come and finish when all are done."""
    from .campaigns.services import campaigns_advance

    return for_each_spa(lambda spa: campaigns_advance(spa=spa))


@shared_task(name="outreach.tasks.partner_health_refresh_task", soft_time_limit=540, time_limit=600)
def partner_health_refresh_task():
    """Every 15 minutes: the partner health of each spa whose day has turned since its partners were assessed (so
    shortly after the spa's midnight), spa by spa."""
    from .health_snapshots import refresh_stale_spas

    return refresh_stale_spas()
