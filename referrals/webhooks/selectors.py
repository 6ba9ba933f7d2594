"""Reads for the owners' pages: the spa's endpoints with their latest answer, one endpoint, its deliveries and
the log of its attempts."""

from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

LOG_SIZE = 50
DELIVERIES_SHOWN = 25


def webhook_endpoints(*, spa, show="active"):
    """The spa's endpoints (``show``: active, disabled or all), newest first, each with its latest attempt's
    status code and time (``last_code``, ``last_attempt_at``) in the same query."""
    latest = WebhookAttempt.objects.filter(spa=spa, endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    endpoints = (
        WebhookEndpoint.objects.filter(spa=spa)
        .select_related("practice", "created_by")
        .annotate(
            last_code=Subquery(latest.values("response_code")[:1]),
            last_error=Subquery(latest.values("error")[:1]),
            last_attempt_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("-created_at", "-id")
    )
    if show == "active":
        return endpoints.filter(active=True)
    if show == "disabled":
        return endpoints.filter(active=False)
    return endpoints


def webhook_endpoint_of(*, spa, public_id):
    """One endpoint of the spa, or 404 — another spa's answers exactly like one that does not exist."""
    return get_object_or_404(WebhookEndpoint.objects.select_related("practice", "spa"), spa=spa, public_id=public_id)


def webhook_delivery_of(*, endpoint, public_id):
    return get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint", "spa"),
        spa=endpoint.spa,
        endpoint=endpoint,
        public_id=public_id,
    )


def endpoint_deliveries(*, endpoint, limit=DELIVERIES_SHOWN):
    """The endpoint's latest deliveries, newest first."""
    return list(
        WebhookDelivery.objects.filter(spa=endpoint.spa, endpoint=endpoint)
        .select_related("referral")
        .order_by("-created_at", "-id")[:limit]
    )


def endpoint_attempt_log(*, endpoint, limit=LOG_SIZE):
    """The endpoint's latest attempts, newest first, with the event each was about."""
    return list(
        WebhookAttempt.objects.filter(spa=endpoint.spa, endpoint=endpoint)
        .select_related("delivery")
        .order_by("-created_at", "-id")[:limit]
    )
