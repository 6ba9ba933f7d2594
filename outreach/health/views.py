"""Partner-health pages: the list of trial and active partners sorted by risk, and the practice page's
health-and-check-ins panel (its badge, the next check-in, the cadence form, the open check-in's briefing).

Anyone on the team may look; changing a practice's check-in cadence (the team's rhythm with that partner,
like the spa-wide default in the outreach settings) needs a manager.
"""

import functools
import zoneinfo
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from infra.forms import apply_validation_error
from partners.models import Practice, Stage
from spas.models import Role
from spas.tenancy import requires_role

from ..activity.selectors import spa_today
from ..models import Task, TaskKind, outreach_settings_for
from .checkins import check_in_cadence_set
from .forms import CheckInCadenceForm, HealthFilterForm
from .nudges import resurfaces_on
from .selectors import HEALTH_STAGES, HealthStatus, partner_health_list, practice_health

PAGE_SIZE = 25
NOT_ACTIVE_MESSAGE = gettext_lazy("Check-ins are scheduled for active partners only.")


def in_spa_timezone(view):
    """Read and show dates as the spa's staff see them on the wall clock."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.spa.timezone)):
            return view(request, *args, **kwargs)

    return wrapper


def _practice_or_404(request, practice_id):
    practice = Practice.objects.filter(spa=request.spa, public_id=practice_id).select_related("owner").first()
    if practice is None:
        raise Http404("No such practice.")
    return practice


# --- the list -------------------------------------------------------------------------------------


def _query(**params):
    return urlencode({name: value for name, value in params.items() if value})


@require_GET
@in_spa_timezone
def partner_health(request, spa_slug):
    filters = HealthFilterForm(request.GET)
    filters.is_valid()
    status = filters.cleaned_data.get("status") or ""
    mine = bool(filters.cleaned_data.get("mine"))
    listed, counts = partner_health_list(spa=request.spa, status=status or None, owner=request.user if mine else None)
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    tabs = [("", _("All"), counts["all"])] + [(value, label, counts[value]) for value, label in HealthStatus.choices]
    context = {
        "page": page,
        "counts": counts,
        "tabs": tabs,
        "status": status,
        "status_label": HealthStatus(status).label if status else "",
        "mine": mine,
        "tab_query": _query(mine="on" if mine else ""),
        "mine_toggle_query": _query(status=status, mine="" if mine else "on"),
        "query_string": _query(status=status, mine="on" if mine else ""),
        "today": spa_today(request.spa),
    }
    return render(request, "outreach/health/partner_health.html", context)


# --- the practice page's panel --------------------------------------------------------------------


def health_panel_context(request, practice, form=None, notice=""):
    """What the practice page's health-and-check-ins panel shows: nothing (and no query) for practices in the
    pipeline; three queries for trial, active, declined and dormant ones."""
    spa = request.spa
    quiet = practice.stage in (Stage.DECLINED, Stage.DORMANT)
    if practice.stage not in HEALTH_STAGES and not quiet:
        return {"show": False}
    membership = getattr(request, "membership", None)
    settings_row = outreach_settings_for(spa)
    health = practice_health(spa=spa, practice=practice, default_cadence_days=settings_row.check_in_cadence_days)
    briefing_task = (
        Task.objects.filter(
            spa=spa, practice=practice, kind__in=[TaskKind.CHECK_IN, TaskKind.FRESH_APPROACH], done_at=None
        )
        .select_related("assignee")
        .order_by("-created_at", "-id")
        .first()
    )
    can_edit = membership is not None and membership.has_role(Role.MANAGER)
    if form is None and health is not None and health.next_check_in_on is not None:
        form = CheckInCadenceForm(
            initial={"cadence_days": health.custom_cadence}, default_days=settings_row.check_in_cadence_days
        )
    return {
        "request": request,
        "current_spa": spa,
        "practice": practice,
        "health": health,
        "briefing_task": briefing_task,
        "cadence_form": form,
        "can_edit": can_edit,
        "default_days": settings_row.check_in_cadence_days,
        "resurfaces_on": resurfaces_on(spa, practice, settings_row.resurface_after_months) if quiet else None,
        "today": spa_today(spa),
        "notice": notice,
        "show": True,
    }


@require_GET
@in_spa_timezone
def practice_panel(request, spa_slug, practice_id):
    """The panel alone, for htmx to redraw it (after a touchpoint was logged, for instance)."""
    practice = _practice_or_404(request, practice_id)
    return render(request, "outreach/health/panel.html", health_panel_context(request, practice))


def _cadence_done_message(practice, row, default_days):
    if row.cadence_days:
        message = _("Check-ins with %(practice)s every %(days)s days; the next one is due %(due)s.")
    else:
        message = _(
            "Check-ins with %(practice)s follow the spa's default, every %(days)s days; the next one is due %(due)s."
        )
    return message % {
        "practice": practice.name,
        "days": row.cadence_days or default_days,
        "due": date_format(row.next_due_on, "M j, Y") if row.next_due_on else "—",
    }


@requires_role(Role.MANAGER)
@require_http_methods(["GET", "POST"])
@in_spa_timezone
def cadence_update(request, spa_slug, practice_id):
    """How often to check in with one active partner. htmx posts get the redrawn panel back."""
    practice = _practice_or_404(request, practice_id)
    default_days = outreach_settings_for(request.spa).check_in_cadence_days
    if request.method == "GET":
        health = practice_health(spa=request.spa, practice=practice)
        custom = health.custom_cadence if health else None
        form = CheckInCadenceForm(initial={"cadence_days": custom}, default_days=default_days)
        # An unbound form takes no errors; the page says it instead, and a save would be refused the same way.
        not_active = NOT_ACTIVE_MESSAGE if practice.stage != Stage.ACTIVE else None
        context = {"practice": practice, "form": form, "not_active": not_active}
        return render(request, "outreach/health/cadence_form.html", context)
    form = CheckInCadenceForm(request.POST, default_days=default_days)
    if form.is_valid():
        if practice.stage != Stage.ACTIVE:
            form.add_error(None, NOT_ACTIVE_MESSAGE)
        else:
            try:
                row = check_in_cadence_set(
                    practice=practice,
                    cadence_days=form.cleaned_data["cadence_days"],
                    actor=request.user,
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                done = _cadence_done_message(practice, row, default_days)
                if request.htmx:
                    context = health_panel_context(request, practice, notice=done)
                    return render(request, "outreach/health/panel.html", context)
                messages.success(request, done)
                return redirect(reverse("partners:detail", args=[spa_slug, practice.public_id]) + "#check-ins")
    if request.htmx:
        context = health_panel_context(request, practice, form=form)
        return render(request, "outreach/health/panel.html", context, status=400)
    return render(request, "outreach/health/cadence_form.html", {"practice": practice, "form": form}, status=400)
