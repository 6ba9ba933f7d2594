"""Owners' pages under Settings → Webhooks: the endpoints, a new one (its secret shown once), one endpoint with
its deliveries and the log of attempts, edit, disable or enable, rotate the secret, send a test event, retry a
failed delivery. Owners only, like API keys: an endpoint may receive patients' names."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error
from infra.toasts import with_toast
from spas.models import Role
from spas.tenancy import requires_role

from . import selectors, services
from .forms import WebhookEndpointCreateForm, WebhookEndpointEditForm
from .models import WebhookDelivery

PAGE_SIZE = 25
SHOW_CHOICES = {"active", "disabled", "all"}


@requires_role(Role.OWNER)
def webhook_list(request, spa_slug):
    show = request.GET.get("show", "active")
    if show not in SHOW_CHOICES:
        show = "active"
    page = Paginator(selectors.webhook_endpoints(spa=request.spa, show=show), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "endpoints": page.object_list, "show": show}
    return render(request, "referrals/webhooks/list.html", context)


def _secret_page(request, endpoint, secret, *, rotated):
    """The one response that shows a secret: never cached, never shown again."""
    response = render(
        request,
        "referrals/webhooks/secret.html",
        {"endpoint": endpoint, "secret": secret, "rotated": rotated},
    )
    add_never_cache_headers(response)
    return response


@requires_role(Role.OWNER)
def webhook_create(request, spa_slug):
    form = WebhookEndpointCreateForm(request.POST if request.method == "POST" else None, spa=request.spa)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(
                spa=request.spa,
                practice=form.cleaned_data["practice"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=request.user,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return _secret_page(request, endpoint, secret, rotated=False)
    return render(request, "referrals/webhooks/create.html", {"form": form}, status=400 if form.errors else 200)


def _detail_context(endpoint):
    return {
        "endpoint": endpoint,
        "endpoint_events": list(zip(endpoint.events, endpoint.event_labels, strict=True)),
        "deliveries": selectors.endpoint_deliveries(endpoint=endpoint),
        "attempts": selectors.endpoint_attempt_log(endpoint=endpoint),
        "retryable": {WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD},
    }


@requires_role(Role.OWNER)
def webhook_detail(request, spa_slug, endpoint_id):
    endpoint = selectors.webhook_endpoint_of(spa=request.spa, public_id=endpoint_id)
    template = "referrals/webhooks/partials/log.html" if request.htmx else "referrals/webhooks/detail.html"
    return render(request, template, _detail_context(endpoint))


@requires_role(Role.OWNER)
def webhook_edit(request, spa_slug, endpoint_id):
    endpoint = selectors.webhook_endpoint_of(spa=request.spa, public_id=endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    form = WebhookEndpointEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(endpoint=endpoint, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Saved. The next events go to the endpoint as it is now."))
            return redirect("webhooks:detail", spa_slug=spa_slug, endpoint_id=endpoint.public_id)
    context = {"endpoint": endpoint, "form": form}
    return render(request, "referrals/webhooks/edit.html", context, status=400 if form.errors else 200)


@require_POST
@requires_role(Role.OWNER)
def webhook_set_active(request, spa_slug, endpoint_id, active):
    endpoint = selectors.webhook_endpoint_of(spa=request.spa, public_id=endpoint_id)
    services.webhook_endpoint_set_active(endpoint=endpoint, active=active, actor=request.user)
    if active:
        messages.success(request, _("Enabled. New events are sent to this endpoint again."))
    else:
        messages.success(request, _("Disabled. Nothing more is sent to this endpoint until you enable it."))
    return redirect("webhooks:detail", spa_slug=spa_slug, endpoint_id=endpoint.public_id)


@require_POST
@requires_role(Role.OWNER)
def webhook_rotate(request, spa_slug, endpoint_id):
    endpoint = selectors.webhook_endpoint_of(spa=request.spa, public_id=endpoint_id)
    endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
    return _secret_page(request, endpoint, secret, rotated=True)


def _after_action(request, endpoint, message, *, level="success"):
    """An htmx post gets the refreshed log and a toast; a plain post goes back to the endpoint's page."""
    if request.htmx:
        response = render(request, "referrals/webhooks/partials/log.html", _detail_context(endpoint))
        return with_toast(response, message, level=level)
    getattr(messages, level)(request, message)
    return redirect("webhooks:detail", spa_slug=endpoint.spa.slug, endpoint_id=endpoint.public_id)


@require_POST
@requires_role(Role.OWNER)
def webhook_send_test(request, spa_slug, endpoint_id):
    endpoint = selectors.webhook_endpoint_of(spa=request.spa, public_id=endpoint_id)
    try:
        services.webhook_endpoint_send_test(endpoint=endpoint, actor=request.user)
    except ValidationError as error:
        return _after_action(request, endpoint, " ".join(error.messages), level="warning")
    return _after_action(request, endpoint, _("Test event queued. Its answer appears in the log in a moment."))


@require_POST
@requires_role(Role.OWNER)
def webhook_retry(request, spa_slug, endpoint_id, delivery_id):
    endpoint = selectors.webhook_endpoint_of(spa=request.spa, public_id=endpoint_id)
    delivery = selectors.webhook_delivery_of(endpoint=endpoint, public_id=delivery_id)
    try:
        services.webhook_delivery_retry(delivery=delivery, actor=request.user)
    except ValidationError as error:
        return _after_action(request, endpoint, " ".join(error.messages), level="warning")
    return _after_action(request, endpoint, _("Sending it again now."))
