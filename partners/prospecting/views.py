"""Prospect pages: search the NPI registry and import chosen providers; partners and prospects by distance."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from spas.models import Role
from spas.tenancy import requires_role

from ..models import Practice, ProspectImport
from . import selectors, services
from .forms import NEARBY_SHOW, ProspectSearchForm
from .sources import SearchError, SourceUnavailable, prospect_source
from .taxonomy import UnknownTaxonomy

PAGE_SIZE = 50
QUERY_FIELDS = ("specialty", "postal_code", "radius_km", "city", "state")


def _search(request, form):
    """(candidates, None) or (None, the message to show) for a valid form."""
    try:
        candidates = prospect_source().search(form.query())
    except (SourceUnavailable, SearchError, UnknownTaxonomy) as error:
        return None, str(error)
    candidates = selectors.mark_duplicates(spa=request.spa, candidates=candidates)
    candidates.sort(key=lambda c: (c.distance_km is None, c.distance_km or 0, c.display_name))
    return candidates, None


@requires_role(Role.STAFF)
def prospect_search(request, spa_slug):
    searched = any(name in request.GET for name in QUERY_FIELDS)
    form = ProspectSearchForm(request.GET if searched else None, initial={"postal_code": request.spa.postal_code})
    candidates, problem, status = None, None, 200
    if searched and form.is_valid():
        candidates, problem = _search(request, form)
        status = 503 if problem else 200
    elif searched:
        status = 400
    context = {
        "form": form,
        "candidates": candidates,
        "problem": problem,
        "source": prospect_source().name,
        "query_string": urlencode({name: request.GET.get(name, "") for name in QUERY_FIELDS}),
    }
    return render(request, "partners/prospects.html", context, status=status)


@require_POST
@requires_role(Role.STAFF)
def prospect_import(request, spa_slug):
    """Start importing the chosen providers; the import's own page shows its progress."""
    form = ProspectSearchForm(request.POST)
    back = reverse("partners:prospects", args=[spa_slug])
    if not form.is_valid():
        messages.error(request, _("The search changed or is incomplete; search again and choose again."))
        return redirect(back)
    query_string = urlencode({name: request.POST.get(name, "") for name in QUERY_FIELDS})
    chosen = set(request.POST.getlist("npi"))
    candidates, problem = _search(request, form)
    if problem:
        messages.error(request, problem)
        return redirect(f"{back}?{query_string}")
    # Only providers of this search: a forged NPI is not imported. Those the spa has by now are skipped by the import.
    picked = [candidate for candidate in candidates if candidate.npi in chosen]
    try:
        job = services.prospect_import_start(
            spa=request.spa,
            actor=request.user,
            candidates=picked,
            specialty=form.cleaned_data["specialty"],
            source_name=prospect_source().name,
            search=query_string,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{back}?{query_string}")
    return redirect("partners:prospect_import_detail", spa_slug=spa_slug, prospect_import_id=job.public_id)


@requires_role(Role.STAFF)
def prospect_import_detail(request, spa_slug, prospect_import_id):
    """An import's progress (htmx polls the partial while it runs), then what it created and what it skipped."""
    job = get_object_or_404(ProspectImport, spa=request.spa, public_id=prospect_import_id)
    created = []
    if job.is_finished and job.created_ids:
        created = list(Practice.objects.filter(spa=request.spa, public_id__in=job.created_ids).order_by("name"))
    context = {"job": job, "created": created, "back": f"{reverse('partners:prospects', args=[spa_slug])}?{job.search}"}
    template = "partners/partials/prospect_import_progress.html" if request.htmx else "partners/prospect_import.html"
    return render(request, template, context)


def _markers(spa, practices):
    markers = [
        {
            "kind": "practice",
            "name": practice.name,
            "stage": practice.get_stage_display(),
            "lat": float(practice.latitude),
            "lng": float(practice.longitude),
            "url": reverse("partners:detail", args=[spa.slug, practice.public_id]),
        }  # fmt: skip
        for practice in practices
        if practice.latitude is not None
    ]
    if spa.latitude is not None:
        markers.insert(0, {"kind": "spa", "name": spa.name, "lat": float(spa.latitude), "lng": float(spa.longitude)})
    return markers


@requires_role(Role.STAFF)
def nearby(request, spa_slug):
    show = request.GET.get("show", "all")
    if show not in NEARBY_SHOW:
        show = "all"
    practices = selectors.practices_by_distance(spa=request.spa, stages=NEARBY_SHOW[show])
    map_on = bool(settings.MAP_TILE_URL) and request.spa.latitude is not None
    page = Paginator(practices, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "practices": page.object_list,
        "page": page,
        "query_string": urlencode({"show": show}),
        "show": show,
        "map_on": map_on,
        "map_config": {
            "tiles": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "markers": _markers(request.spa, practices) if map_on else [],
        },
        "tiles_configured": bool(settings.MAP_TILE_URL),
    }
    return render(request, "partners/nearby.html", context)
