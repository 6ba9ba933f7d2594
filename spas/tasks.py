"""Celery tasks of the spas app: credential reminders. (Outbox and document tasks: infra.tasks.)"""

import logging

from celery import shared_task

from . import catalog
from .tenancy import for_each_spa

logger = logging.getLogger(__name__)


@shared_task(name="spas.tasks.credential_reminders_task", soft_time_limit=540, time_limit=600)
def credential_reminders_task():
    """Daily, over every spa: email owners about credentials 60 and 30 days from expiry.

    Idempotent: each reminder is claimed once per credential and expiry date, so a second run,
    a second beat or a redelivered message sends nothing new.
    """
    return for_each_spa(
        lambda spa: catalog.credential_reminders_send(spa=spa, today=catalog.spa_today(spa)),
        keep_going=True,
        label="Credential reminders",
    )
