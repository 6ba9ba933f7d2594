"""Prospect pages: search the NPI registry and import chosen providers; partners and prospects by distance."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from spas.models import Role
from spas.tenancy import requires_role

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
    picked = [candidate for candidate in candidates if candidate.npi in chosen]
    if not picked:
        messages.error(request, _("Choose at least one practice or clinician to import."))
        return redirect(f"{back}?{query_string}")
    result = services.prospects_import(
        spa=request.spa,
        actor=request.user,
        candidates=picked,
        specialty=form.cleaned_data["specialty"],
        source_name=prospect_source().name,
    )
    _report_import(request, result)
    return redirect(f"{back}?{query_string}")


def _report_import(request, result):
    if result.created:
        count = len(result.created)
        messages.success(
            request,
            ngettext("Imported %(count)s prospect.", "Imported %(count)s prospects.", count) % {"count": count},
        )
    if result.skipped:
        count = len(result.skipped)
        messages.info(
            request,
            ngettext(
                "Skipped %(count)s you already have (%(names)s).",
                "Skipped %(count)s you already have (%(names)s).",
                count,
            )
            % {"count": count, "names": ", ".join(match.name for _candidate, match in result.skipped[:5])},
        )


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
