"""Owners' writes: register an endpoint (its secret returned once), edit, disable and enable it, rotate its
secret, send it a test event, retry a delivery that failed. Each is atomic and audited; a refused value raises
``ValidationError`` naming the field, before anything is written."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record

from . import payloads, signing
from .addresses import AddressRefused, url_checked
from .events import deliveries_queue, webhook_drain_request
from .models import TEST_EVENT, EventType, WebhookDelivery, WebhookEndpoint

# After a rotation the previous secret keeps signing beside the new one this long, so the receiver can switch.
ROTATION_OVERLAP = timedelta(hours=24)
URL_MAX_LENGTH = 500


def _actor(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _clean_url(url):
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": _("Enter the address that receives the webhooks.")})
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError({"url": _("Use an address of at most 500 characters.")})
    try:
        URLValidator(schemes=["http", "https"])(url)
        url_checked(url)
    except ValidationError as error:
        raise ValidationError({"url": _("Enter a valid web address.")}) from error
    except AddressRefused as refusal:
        raise ValidationError({"url": str(refusal)}) from refusal
    return url


def _clean_events(events):
    chosen = sorted(set(events or []))
    if not chosen:
        raise ValidationError({"events": _("Choose at least one event.")})
    if any(event not in EventType.values for event in chosen):
        raise ValidationError({"events": _("Choose events from the list.")})
    return [event for event in EventType.values if event in chosen]  # in the list's order


def _clean_description(description):
    description = " ".join((description or "").split())
    if len(description) > 120:
        raise ValidationError({"description": _("Use at most 120 characters.")})
    return description


@transaction.atomic
def webhook_endpoint_create(*, spa, url, events, actor, practice=None, description=""):
    """Register an endpoint. Returns ``(endpoint, secret)``; the secret is shown once and never again."""
    if practice is not None and practice.spa_id != spa.pk:
        raise ValidationError({"practice": _("Choose one of your partner practices.")})
    url, events, description = _clean_url(url), _clean_events(events), _clean_description(description)
    secret = signing.secret_new()
    endpoint = WebhookEndpoint.objects.create(
        spa=spa,
        practice=practice,
        url=url,
        events=events,
        description=description,
        secret_encrypted=signing.secret_encrypt(secret),
        created_by=_actor(actor),
    )
    audit_record(
        spa=spa,
        action="webhook_endpoint.created",
        actor=actor,
        obj=endpoint,
        detail={"url": url, "events": events, "practice": str(practice.public_id) if practice else None},
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint, url, events, description, actor):
    """Change where an endpoint is, what it hears and its description (its practice and secret stay)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    values = {"url": _clean_url(url), "events": _clean_events(events), "description": _clean_description(description)}
    changed = sorted(name for name, value in values.items() if getattr(endpoint, name) != value)
    if not changed:
        return endpoint
    for name in changed:
        setattr(endpoint, name, values[name])
    endpoint.save(update_fields=[*changed, "updated_at"])
    audit_record(
        spa=endpoint.spa,
        action="webhook_endpoint.updated",
        actor=actor,
        obj=endpoint,
        detail={name: values[name] for name in changed},
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_set_active(*, endpoint, active, actor):
    """Disable an endpoint (nothing more is sent; what is waiting is not delivered) or enable it again."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.active == active:
        return endpoint
    endpoint.active = active
    endpoint.disabled_reason = ""
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    action = "webhook_endpoint.enabled" if active else "webhook_endpoint.disabled"
    audit_record(spa=endpoint.spa, action=action, actor=actor, obj=endpoint)
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint, actor):
    """Give the endpoint a new secret, returned once. The previous one signs too for ROTATION_OVERLAP."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = signing.secret_new()
    now = timezone.now()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = signing.secret_encrypt(secret)
    endpoint.secret_rotated_at = now
    endpoint.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
            "secret_rotated_at",
            "updated_at",
        ]
    )
    audit_record(spa=endpoint.spa, action="webhook_endpoint.secret_rotated", actor=actor, obj=endpoint)
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_send_test(*, endpoint, actor):
    """Queue a ``webhook.test`` event for this endpoint alone (it carries nothing about a referral)."""
    if not endpoint.active:
        raise ValidationError(_("Enable the endpoint before sending it a test event."))
    payload = payloads.endpoint_test_payload(endpoint=endpoint, at=timezone.now())
    [delivery] = deliveries_queue(spa_id=endpoint.spa_id, endpoints=[endpoint], event_type=TEST_EVENT, payload=payload)
    audit_record(spa=endpoint.spa, action="webhook_endpoint.test_sent", actor=actor, obj=endpoint)
    return delivery


RETRYABLE = [WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD]


@transaction.atomic
def webhook_delivery_retry(*, delivery, actor):
    """Send a failed or abandoned delivery again now, with a fresh round of retries."""
    if not delivery.endpoint.active:
        raise ValidationError(_("Enable the endpoint before retrying its deliveries."))
    retried = WebhookDelivery.objects.filter(pk=delivery.pk, status__in=RETRYABLE).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None
    )
    if not retried:
        raise ValidationError(
            _("Only a delivery that failed can be retried; this one is %(status)s.")
            % {"status": delivery.get_status_display().lower()}
        )
    audit_record(
        spa=delivery.spa,
        action="webhook_delivery.retried",
        actor=actor,
        obj=delivery,
        detail={"endpoint": str(delivery.endpoint.public_id), "event": delivery.event_type},
    )
    transaction.on_commit(webhook_drain_request)
    delivery.refresh_from_db()
    return delivery
