"""Catalog pages: what the spa offers referred patients, and what it tells each specialty."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error

from . import catalog
from .catalog_forms import CATALOG_FORMS, TalkingPointsForm
from .models import Role, Specialty
from .tenancy import requires_role

PAGE_SIZE = 50

KIND_LABELS = {
    "services": (gettext_lazy("Services"), gettext_lazy("service"), "bi-flower2"),
    "offers": (gettext_lazy("Offers for referred patients"), gettext_lazy("offer"), "bi-gift"),
    "credentials": (gettext_lazy("Credentials"), gettext_lazy("credential"), "bi-patch-check"),
    "equipment": (gettext_lazy("Equipment"), gettext_lazy("equipment"), "bi-lightning-charge"),
    "product-lines": (gettext_lazy("Product lines"), gettext_lazy("product line"), "bi-droplet"),
}


def _kind_or_404(kind):
    if kind not in catalog.CATALOG_MODELS:
        raise Http404("No such catalog.")
    title, singular, icon = KIND_LABELS[kind]
    return catalog.CATALOG_MODELS[kind], {"kind": kind, "title": title, "singular": singular, "icon": icon}


def catalog_index(request, spa_slug):
    spa = request.spa
    sections = []
    for kind, model in catalog.CATALOG_MODELS.items():
        title, singular, icon = KIND_LABELS[kind]
        sections.append(
            {"kind": kind, "title": title, "icon": icon, "count": catalog.active_items(model, spa=spa).count()}
        )
    return render(request, "spas/catalog/index.html", {"sections": sections})


def catalog_list(request, spa_slug, kind):
    model, meta = _kind_or_404(kind)
    show_archived = request.GET.get("archived") == "1"
    specialty = request.GET.get("specialty", "")
    if specialty not in Specialty.values:
        specialty = ""
    items = catalog.catalog_items(model, spa=request.spa, archived=show_archived, specialty=specialty)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **meta,
        "page": page,
        "items": page.object_list,
        "query_string": query.urlencode(),
        "show_archived": show_archived,
        "specialty": specialty,
        "specialty_choices": Specialty.choices,
        "can_edit": request.membership.has_role(Role.MANAGER),
    }
    return render(request, f"spas/catalog/{kind}.html", context)


@requires_role(Role.MANAGER)
def catalog_form(request, spa_slug, kind, item_id=None):
    model, meta = _kind_or_404(kind)
    item = None
    if item_id is not None:
        item = get_object_or_404(model, spa=request.spa, public_id=item_id)
    # An empty POST is still a submission: it must show "required" errors, not a blank form.
    form = CATALOG_FORMS[kind](request.POST if request.method == "POST" else None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            catalog.catalog_item_save(spa=request.spa, item=form.instance, actor=request.user)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Saved “%(item)s”.") % {"item": form.instance})
            return redirect("catalog:list", spa_slug=spa_slug, kind=kind)
    context = {**meta, "form": form, "item": item}
    return render(request, "spas/catalog/form.html", context, status=400 if form.errors else 200)


@require_POST
@requires_role(Role.MANAGER)
def catalog_archive(request, spa_slug, kind, item_id):
    model, meta = _kind_or_404(kind)
    item = get_object_or_404(model, spa=request.spa, public_id=item_id)
    archive = request.POST.get("restore") != "1"
    catalog.catalog_item_set_archived(item=item, archived=archive, actor=request.user)
    if archive:
        messages.success(
            request, _("Archived “%(item)s”. It no longer appears on documents or landing pages.") % {"item": item}
        )
    else:
        messages.success(request, _("Restored “%(item)s”.") % {"item": item})
    return redirect("catalog:list", spa_slug=spa_slug, kind=kind)


def talking_points(request, spa_slug):
    rows = catalog.talking_points_for(spa=request.spa)
    return render(
        request,
        "spas/catalog/talking_points.html",
        {"rows": rows, "can_edit": request.membership.has_role(Role.MANAGER)},
    )


@requires_role(Role.MANAGER)
def talking_points_edit(request, spa_slug, specialty):
    if specialty not in Specialty.values:
        raise Http404("No such specialty.")
    row = next(row for row in catalog.talking_points_for(spa=request.spa) if row.specialty == specialty)
    form = TalkingPointsForm(request.POST if request.method == "POST" else None, instance=row)
    if request.method == "POST" and form.is_valid():
        catalog.talking_points_update(
            spa=request.spa,
            specialty=specialty,
            text=form.cleaned_data["talking_points"],
            actor=request.user,
        )
        messages.success(
            request, _("Talking points for %(specialty)s saved.") % {"specialty": row.get_specialty_display()}
        )
        return redirect("catalog:talking_points", spa_slug=spa_slug)
    if form.errors:
        row.refresh_from_db()
    return render(
        request, "spas/catalog/talking_points_form.html", {"form": form, "row": row}, status=400 if form.errors else 200
    )
