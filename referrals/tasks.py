"""Scheduled referral work: tell people about referrals whose first contact is overdue."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from infra.outbox import email_enqueue
from spas.tenancy import for_each_spa

from .followup.services import follow_ups_send_due
from .intake.submissions import submission_tokens_purge
from .models import AWAITING_FIRST_CONTACT, IdempotencyRecord, Referral
from .outcomes.services import authorizations_expire
from .patient_rights.services import closed_referrals_purge
from .services import owner_emails, staff_recipients


def overdue_referrals_notify(*, spa, now=None):
    """Email the assignee and the owners once per newly overdue referral of ``spa``. Returns how many."""
    now = now or timezone.now()
    due = Referral.objects.filter(
        spa=spa,
        status__in=AWAITING_FIRST_CONTACT,
        first_contact_attempt_at=None,
        first_contact_due_at__lt=now,
        overdue_notified_at=None,
        archived_at=None,  # a test or spam referral reminds nobody
    ).select_related("practice", "assignee")
    notified = 0
    for referral in due:
        with transaction.atomic():
            # The claim makes a second run (or a second beat) send nothing.
            if not Referral.objects.filter(pk=referral.pk, overdue_notified_at=None).update(overdue_notified_at=now):
                continue
            url = settings.SITE_URL + reverse("referrals:detail", args=[spa.slug, referral.public_id])
            # The assignee and the owners: an overdue referral is the owners' business too.
            recipients = set(staff_recipients(referral)) | set(owner_emails(spa))
            for address in sorted(recipients):
                email_enqueue(
                    spa=spa,
                    to=address,
                    template_name="referral-overdue",
                    context={
                        "spa": spa,
                        "practice": referral.practice,
                        "url": url,
                        "due": referral.first_contact_due_at,
                    },
                )
            notified += 1
    return notified


@shared_task(name="referrals.tasks.overdue_referrals_notify_task", soft_time_limit=240, time_limit=300)
def overdue_referrals_notify_task():
    """Hourly, over all spas, spa by spa inside each spa's scope."""
    return for_each_spa(lambda spa: overdue_referrals_notify(spa=spa))


IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)


@shared_task(name="referrals.tasks.idempotency_records_purge_task", soft_time_limit=240, time_limit=300)
def idempotency_records_purge_task():
    """Forget API Idempotency-Keys and form submission tokens after 24 hours. Over all spas, spa by spa."""
    cutoff = timezone.now() - IDEMPOTENCY_KEY_LIFETIME

    def purge(spa):
        deleted = IdempotencyRecord.objects.filter(spa=spa, created_at__lt=cutoff).delete()[0]
        # The forms' one-time submission tokens live as briefly (a double click comes within seconds).
        return deleted + submission_tokens_purge(spa=spa)

    return for_each_spa(purge)


@shared_task(name="referrals.tasks.authorizations_expire_task", soft_time_limit=540, time_limit=600)
def authorizations_expire_task():
    """Daily: mark authorizations that ran out and tell each spa which drafts can no longer be shared."""
    return for_each_spa(lambda spa: len(authorizations_expire(spa=spa)))


@shared_task(name="referrals.tasks.health_fields_purge_task", soft_time_limit=1740, time_limit=1800)
def health_fields_purge_task():
    """Nightly: erase the health fields of referrals closed longer ago than each spa's retention setting."""
    return for_each_spa(lambda spa: closed_referrals_purge(spa=spa))


@shared_task(name="referrals.tasks.follow_ups_send_task", soft_time_limit=240, time_limit=300)
def follow_ups_send_task():
    """Every 15 minutes: patients' thank-you messages that are due, spa by spa (each claimed once)."""
    return for_each_spa(lambda spa: follow_ups_send_due(spa=spa), keep_going=True, label="Patient follow-ups")
