"""Owner pages for the REST API's keys: list, create (the key is shown once), revoke."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error
from partners.models import Practice
from spas.models import Role
from spas.tenancy import requires_role

from ..models import ApiKey
from .forms import ApiKeyCreateForm
from .services import api_key_create, api_key_revoke

PAGE_SIZE = 50
SHOW_CHOICES = {"active", "revoked", "all"}


@requires_role(Role.OWNER)
def api_key_list(request, spa_slug):
    show = request.GET.get("show", "active")
    if show not in SHOW_CHOICES:
        show = "active"
    keys = (
        ApiKey.objects.filter(spa=request.spa).select_related("practice", "created_by").order_by("-created_at", "-id")
    )
    if show == "active":
        keys = keys.filter(revoked_at=None)
    elif show == "revoked":
        keys = keys.exclude(revoked_at=None)
    page = Paginator(keys, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "keys": page.object_list,
        "show": show,
        "docs_url": reverse("api:docs"),
    }
    return render(request, "referrals/api_keys/list.html", context)


@requires_role(Role.OWNER)
def api_key_create_view(request, spa_slug):
    form = ApiKeyCreateForm(request.POST if request.method == "POST" else None, spa=request.spa)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, raw_key = api_key_create(
                spa=request.spa,
                practice=form.cleaned_data["practice"],
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            # Shown on this response only: it is not stored anywhere we could show it from again.
            response = render(
                request,
                "referrals/api_keys/created.html",
                {
                    "api_key": api_key,
                    "raw_key": raw_key,
                    "api_url": settings.SITE_URL + reverse("api:referral_create"),
                    "fhir_url": settings.SITE_URL + reverse("fhir_base"),
                    "docs_url": reverse("api:docs"),
                },
            )
            add_never_cache_headers(response)
            return response
    context = {"form": form, "has_practices": Practice.objects.filter(spa=request.spa).exists()}
    return render(request, "referrals/api_keys/create.html", context, status=400 if form.errors else 200)


@require_POST
@requires_role(Role.OWNER)
def api_key_revoke_view(request, spa_slug, key_id):
    api_key = get_object_or_404(ApiKey, spa=request.spa, public_id=key_id)
    if api_key.revoked_at is not None:
        messages.info(request, _("“%(name)s” was already revoked.") % {"name": api_key.name})
    else:
        api_key_revoke(api_key=api_key, actor=request.user)
        messages.success(
            request, _("Revoked “%(name)s”. Requests sent with it are refused from now on.") % {"name": api_key.name}
        )
    return redirect("api_keys:list", spa_slug=spa_slug)
