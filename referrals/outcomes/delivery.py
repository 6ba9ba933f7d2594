"""Delivering a shared outcome report: the service and, beside it, the Celery task that runs it.

The task lives here, next to the service it calls, so that ``services.outcome_report_share`` can enqueue
it with an ordinary module-level import (and ``.delay`` stays eager under the test settings) without any
import circle: this module imports no other module of the room but the consent selectors.
"""

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.outbox import email_enqueue
from partners.models import OfficeContact
from spas.tenancy import SpaTask

from ..consent.selectors import sharing_authorization_for
from ..models import OutcomeDelivery, OutcomeReport, ReferralEvent
from ..webhooks.events import webhook_event_record


def refusal_reason():
    return _("The patient's authorization to share outcomes with the referring office is missing, revoked or expired.")


def outcome_report_deliver(delivery_id):
    """Deliver one queued delivery, re-checking the authorization under row locks. Idempotent."""
    with transaction.atomic():
        delivery = OutcomeDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != OutcomeDelivery.Status.QUEUED:
            return delivery
        report = (
            OutcomeReport.objects.select_for_update(of=("self",))
            .select_related("spa", "referral__practice", "referral__clinician")
            .get(pk=delivery.report_id)
        )
        referral = report.referral
        authorization = sharing_authorization_for(referral=referral, lock=True)
        now = timezone.now()
        if authorization is None:
            delivery.status = OutcomeDelivery.Status.REFUSED
            delivery.reason = refusal_reason()
            delivery.save(update_fields=["status", "reason"])
            ReferralEvent.objects.create(
                spa=report.spa,
                referral=referral,
                kind=ReferralEvent.Kind.NOTE,
                note=_("Outcome report version %(version)s was not delivered: %(reason)s")
                % {"version": delivery.report_version, "reason": delivery.reason},
                actor_label=_("Outcome sharing"),
            )
            audit_record(
                spa=report.spa,
                action="outcome_report.refused",
                obj=report,
                actor_label="system",
                detail={"v": delivery.report_version},
            )
            return delivery
        delivery.status = OutcomeDelivery.Status.DELIVERED
        delivery.authorization = authorization
        delivery.delivered_at = now
        delivery.save(update_fields=["status", "authorization", "delivered_at"])
        if report.version == delivery.report_version:
            report.shared_version = delivery.report_version
            report.shared_at = now
            report.save(update_fields=["shared_version", "shared_at"])
        audit_record(
            spa=report.spa,
            action="outcome_report.delivered",
            obj=report,
            actor_label="system",
            detail={"v": delivery.report_version, "authorization": str(authorization.public_id)},
        )
        # The referring office's system hears of it too (ids only; referrals/webhooks/), in this transaction.
        webhook_event_record(
            referral=referral,
            event_type="outcome.sent",
            at=now,
            extra={"outcome_report_id": str(report.public_id), "report_version": delivery.report_version},
        )
        url = settings.SITE_URL + reverse("portal:outcome", args=[report.spa.slug, report.public_id])
        contacts = OfficeContact.objects.filter(spa=report.spa, practice=referral.practice).exclude(email="")
        for address in sorted({contact.email for contact in contacts}):
            email_enqueue(
                spa=report.spa,
                to=address,
                template_name="outcome-shared",
                context={"spa": report.spa, "practice": referral.practice, "url": url},
            )
    return delivery


@shared_task(base=SpaTask, name="referrals.tasks.outcome_delivery_task", soft_time_limit=60, time_limit=90)
def outcome_delivery_task(spa_id, delivery_id):
    """Deliver one shared outcome report (the authorization is checked again, under lock)."""
    delivery = outcome_report_deliver(delivery_id)
    return delivery.status if delivery else None
