"""The Celery app. Redis is the broker when REDIS_URL is set, kombu's filesystem transport otherwise."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spa_referrals.settings.local")

app = Celery("spa_referrals")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# A task that lives beside its service rather than in an app's tasks.py (so the service can enqueue it
# without importing a tasks module): referrals/outcomes/delivery.py.
app.autodiscover_tasks(["referrals.outcomes"], related_name="delivery")
# The outgoing webhooks' tasks live in their room: referrals/webhooks/tasks.py.
app.autodiscover_tasks(["referrals.webhooks"])

# The periodic schedule lives in code. Every job here is idempotent: a second
# beat process or a redelivered message does no extra work.
app.conf.beat_schedule = {
    "outbox-sweep": {
        "task": "spas.tasks.outbox_sweep_task",
        "schedule": 60.0,
    },
    # Texts (infra/sms_outbox.py): lost send requests, retries that fell due, rows a dead worker held.
    "text-outbox-sweep": {
        "task": "infra.tasks.text_outbox_sweep_task",
        "schedule": 60.0,
    },
    # Reminders go out on the spa's calendar day; a beat that misses a day catches up the next,
    # because every credential inside the 60/30-day window is still unreminded.
    "credential-reminders": {
        "task": "spas.tasks.credential_reminders_task",
        "schedule": 24 * 60 * 60.0,
    },
    # Hourly, five past: referrals whose first contact became overdue; each is announced once.
    "referral-overdue-notify": {
        "task": "referrals.tasks.overdue_referrals_notify_task",
        "schedule": crontab(minute=5),
    },
    # Outgoing webhooks: the safety net of the webhook outbox (lost drain requests, retries that fell due, rows a
    # dead worker held), and the nightly purge of deliveries that ended more than 30 days ago.
    "webhook-sweep": {
        "task": "referrals.tasks.webhook_sweep_task",
        "schedule": 60.0,
    },
    "webhook-log-purge": {
        "task": "referrals.tasks.webhook_log_purge_task",
        "schedule": crontab(hour=3, minute=50),
    },
    "documents-sweep": {
        "task": "spas.tasks.documents_sweep_task",
        "schedule": 120.0,
    },
    # Prospect imports (partners/prospecting) whose enqueue was lost or whose worker died start again.
    "prospect-imports-sweep": {
        "task": "partners.tasks.prospect_imports_sweep_task",
        "schedule": 60.0,
    },
    "idempotency-records-purge": {
        "task": "referrals.tasks.idempotency_records_purge_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Daily: authorizations that ran out are marked (each once) and the spa hears which drafts are blocked.
    "authorizations-expire": {
        "task": "referrals.tasks.authorizations_expire_task",
        "schedule": crontab(hour=6, minute=15),
    },
    # Outreach: digests at each spa's morning hour, check-ins and campaign steps when due, thank-you note
    # suggestions for new referrals, fresh approaches to declined practices. All idempotent.
    "outreach-task-digests": {
        "task": "outreach.tasks.task_digests_send_task",
        "schedule": crontab(minute="*/15"),
    },
    "outreach-check-ins": {
        "task": "outreach.tasks.check_ins_create_due_task",
        "schedule": crontab(minute=20),
    },
    "outreach-thank-you-suggestions": {
        "task": "outreach.tasks.thank_you_suggestions_task",
        "schedule": crontab(minute="*/15"),
    },
    "outreach-fresh-approaches": {
        "task": "outreach.tasks.fresh_approaches_task",
        "schedule": crontab(hour=5, minute=40),
    },
    "outreach-campaigns-advance": {
        "task": "outreach.tasks.campaigns_advance_task",
        "schedule": crontab(minute=35),
    },
    # Partner health kept per partner (outreach/health/snapshots.py) is assessed again once each spa's day has
    # turned: every 15 minutes the spas past their midnight are refreshed, each once a day.
    "outreach-partner-health": {
        "task": "outreach.tasks.partner_health_refresh_task",
        "schedule": crontab(minute="*/15"),
    },
    # Patients' thank-you messages after a completed referral (referrals/followup), on each spa's business hours.
    "referral-follow-ups-send": {
        "task": "referrals.tasks.follow_ups_send_task",
        "schedule": crontab(minute="*/15"),
    },
    # Nightly: the retention purge of closed referrals' health fields (spas that switched it on).
    "health-fields-purge": {
        "task": "referrals.tasks.health_fields_purge_task",
        "schedule": crontab(hour=2, minute=45),
    },
}


@app.on_after_configure.connect
def _give_redbeat_its_settings(sender, **kwargs):
    # celery-redbeat (beat's scheduler with Redis: settings/base.py) knows the settings addressed to it by their
    # bare names (redbeat_redis_options), but Celery keeps keys it does not know under the CELERY_ namespace. Under
    # that name only, redbeat would warn that it falls back on the broker's settings and would not hand its Redis
    # options (the socket timeouts) to its client. A value set on app.conf itself (a test's) wins.
    present = set(sender.conf.keys())
    for key in present:
        bare = key.removeprefix("CELERY_").lower()
        if key.startswith("CELERY_REDBEAT_") and bare not in present:
            sender.conf[bare] = sender.conf[key]


@app.on_after_configure.connect
def _create_broker_folders(sender, **kwargs):
    # The filesystem transport needs its folders before the first message.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
