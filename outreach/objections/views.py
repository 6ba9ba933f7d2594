"""Objection library pages: the library, editing its responses, logging objections, the summary.

Staff read the library and log objections (from the library page or a practice's page); managers add, edit,
archive and restore responses. A logged objection may be removed by whoever logged it or by a manager.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from infra.forms import apply_validation_error
from partners.models import Practice
from spas.catalog import active_items
from spas.models import Credential, Role
from spas.tenancy import requires_role

from ..activity.selectors import spa_today
from ..models import ObjectionLog, ObjectionResponse
from . import selectors, services
from .forms import ObjectionListFilter, ObjectionLogForm, ObjectionResponseForm

LOG_PAGE_SIZE = 25
PRACTICE_PANEL_SIZE = 5


def _response_or_404(request, response_id):
    return get_object_or_404(ObjectionResponse, spa=request.spa, public_id=response_id)


def _log_form(request, *, data=None):
    """The library page's log form (the practice is chosen in it)."""
    return ObjectionLogForm(data, spa=request.spa, today=spa_today(request.spa))


def _save_log(request, form):
    """Run the service for a valid form; a refusal lands beside the field. Returns the log or None."""
    data = form.cleaned_data
    try:
        return services.objection_log_create(
            spa=request.spa,
            practice=form.chosen_practice,
            category=data["category"],
            raised=data["raised"],
            response=data["response"],
            outcome=data["outcome"],
            notes=data["notes"],
            raised_on=data["raised_on"],
            touchpoint=data.get("touchpoint"),
            actor=request.user,
        )
    except ValidationError as error:
        apply_validation_error(form, error)
        return None


# --- the library ------------------------------------------------------------------------------------


def _library_context(request, form):
    services.objection_library_ensure(spa=request.spa)
    categories, archived = selectors.objection_library(spa=request.spa)
    return {
        "categories": categories,
        "archived": archived,
        "response_count": sum(len(responses) for _value, _label, responses in categories),
        "credentials": list(active_items(Credential, spa=request.spa).order_by("person", "credential")[:12]),
        "form": form,
        "can_edit": request.membership.has_role(Role.MANAGER),
    }


@require_GET
def objection_library(request, spa_slug):
    return render(request, "outreach/objections/library.html", _library_context(request, _log_form(request)))


@require_POST
def objection_log_create(request, spa_slug):
    """Log an objection from the library page (the practice is chosen in the form)."""
    services.objection_library_ensure(spa=request.spa)
    form = _log_form(request, data=request.POST)
    if form.is_valid() and _save_log(request, form) is not None:
        messages.success(
            request, _("Objection logged at %(practice)s.") % {"practice": form.cleaned_data["practice"].name}
        )
        return redirect("outreach:objection_library", spa_slug=spa_slug)
    return render(request, "outreach/objections/library.html", _library_context(request, form), status=400)


@require_GET
def objection_response_options(request, spa_slug):
    """htmx: the "Response used" menu narrowed to the objection category just chosen."""
    form = ObjectionLogForm(
        spa=request.spa, today=spa_today(request.spa), initial={"category": request.GET.get("category", "")}
    )
    return render(request, "outreach/objections/partials/response_field.html", {"form": form})


@requires_role(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def objection_response_form(request, spa_slug, response_id=None):
    response = _response_or_404(request, response_id) if response_id else None
    initial = {"category": request.GET.get("category")} if response is None else None
    form = ObjectionResponseForm(request.POST if request.method == "POST" else None, instance=response, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.objection_response_save(spa=request.spa, response=form.instance, actor=request.user)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Response saved."))
            return redirect(f"{_library_url(spa_slug)}#category-{form.instance.category}")
    status = 400 if form.errors else 200
    return render(
        request, "outreach/objections/response_form.html", {"form": form, "response": response}, status=status
    )


def _library_url(spa_slug):
    return reverse("outreach:objection_library", args=[spa_slug])


@requires_role(Role.MANAGER)
@require_POST
def objection_response_archive(request, spa_slug, response_id):
    response = _response_or_404(request, response_id)
    services.objection_response_archive(response=response, actor=request.user)
    messages.success(
        request, _("“%(objection)s” archived. Objections logged with it keep it.") % {"objection": response.objection}
    )
    return redirect(f"{_library_url(spa_slug)}#category-{response.category}")


@requires_role(Role.MANAGER)
@require_POST
def objection_response_restore(request, spa_slug, response_id):
    response = _response_or_404(request, response_id)
    services.objection_response_restore(response=response, actor=request.user)
    messages.success(request, _("“%(objection)s” is back in the library.") % {"objection": response.objection})
    return redirect(f"{_library_url(spa_slug)}#category-{response.category}")


# --- a practice's page ------------------------------------------------------------------------------


def _practice_form(request, practice, data=None):
    """The log form of a practice's card, its menus filled from two queries (the spa's active responses, the
    practice's recent touchpoints). The library is seeded here only when the spa has no response at all."""
    spa = request.spa
    responses = list(selectors.active_responses(spa=spa))
    if not responses and services.objection_library_ensure(spa=spa):
        responses = list(selectors.active_responses(spa=spa))
    touchpoints = list(selectors.practice_recent_touchpoints(spa=spa, practice=practice))
    return ObjectionLogForm(
        data,
        spa=spa,
        today=spa_today(spa),
        practice=practice,
        touchpoints=touchpoints,
        responses=responses,
    )


def practice_panel_context(request, practice, *, form=None, notice=""):
    """What the practice page's objections card shows: the latest objections there and the log form.

    A fixed three queries on the practice's page: responses, recent touchpoints, latest objections."""
    form = form or _practice_form(request, practice)
    logs, has_more = selectors.practice_objections(spa=request.spa, practice=practice, limit=PRACTICE_PANEL_SIZE)
    for log in logs:
        log.can_delete = selectors.objection_log_can_delete(log, request.membership)
    return {
        "practice": practice,
        "form": form,
        "logs": logs,
        "has_more": has_more,
        "notice": notice,
        "open_form": form.is_bound and bool(form.errors),
        "current_spa": request.spa,
        "current_membership": request.membership,
        "request": request,
    }


@require_http_methods(["GET", "POST"])
def objection_practice_log(request, spa_slug, practice_id):
    """The practice page's objections card. POST logs one; htmx gets the card back, a plain post a redirect."""
    practice = get_object_or_404(Practice, spa=request.spa, public_id=practice_id)
    if request.method == "GET":
        if not request.htmx:
            return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)
        return render(request, "outreach/objections/practice_panel.html", practice_panel_context(request, practice))
    form = _practice_form(request, practice, data=request.POST)
    if form.is_valid() and _save_log(request, form) is not None:
        notice = _("Objection logged.")
        if request.htmx:
            context = practice_panel_context(request, practice, notice=notice)
            return render(request, "outreach/objections/practice_panel.html", context)
        messages.success(request, notice)
        return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)
    context = practice_panel_context(request, practice, form=form)
    template = "outreach/objections/practice_panel.html" if request.htmx else "outreach/objections/log_page.html"
    return render(request, template, context, status=400)


@require_POST
def objection_log_delete(request, spa_slug, objection_id):
    log = get_object_or_404(ObjectionLog.objects.select_related("practice"), spa=request.spa, public_id=objection_id)
    if not selectors.objection_log_can_delete(log, request.membership):
        raise PermissionDenied("Only who logged it or a manager may remove it.")
    practice = log.practice
    services.objection_log_delete(log=log, actor=request.user)
    notice = _("Objection removed.")
    if request.htmx and request.POST.get("from") == "practice":
        return render(
            request,
            "outreach/objections/practice_panel.html",
            practice_panel_context(request, practice, notice=notice),
        )
    messages.success(request, notice)
    if request.POST.get("from") == "practice":
        return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)
    return redirect("outreach:objection_summary", spa_slug=spa_slug)


# --- the summary ------------------------------------------------------------------------------------


@require_GET
def objection_summary(request, spa_slug):
    spa = request.spa
    services.objection_library_ensure(spa=spa)
    filters = ObjectionListFilter(request.GET)
    practice = None
    if filters.is_valid() and filters.cleaned_data["practice"]:
        practice = selectors.practice_for_filter(spa=spa, public_id=filters.cleaned_data["practice"])
        if practice is None:
            raise Http404("No such practice.")
    logs = selectors.objection_log_list(
        spa=spa, category=filters.value("category"), outcome=filters.value("outcome"), practice=practice
    )
    page = Paginator(logs, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "summary": selectors.objection_summary(spa=spa),
        "filters": filters,
        "practice": practice,
        "page": page,
        "query_string": query.urlencode(),
        "is_filtered": any(value for key, value in request.GET.items() if key != "page"),
        "membership": request.membership,
    }
    for log in page.object_list:
        log.can_delete = selectors.objection_log_can_delete(log, request.membership)
    return render(request, "outreach/objections/summary.html", context)
