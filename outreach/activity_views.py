"""Day-to-day outreach pages: My day, the team's tasks, a task's form, done/undo, logging touchpoints from a
practice's page, adding playbook steps and the spa's outreach rhythm.

Done/undo and the practice page's quick-log answer htmx with the refreshed fragment; plain posts redirect.
"""

import functools
import uuid
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partners.models import Practice
from spa_referrals.forms import apply_validation_error
from spas.models import Role
from spas.tenancy import requires_role

from . import activity, playbook
from .activity_forms import OutreachSettingsForm, QuickTaskForm, TaskFilterForm, TaskForm, TouchpointForm
from .models import Task, Touchpoint, outreach_settings_for

PAGE_SIZE = 50


def in_spa_timezone(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.spa.timezone)):
            return view(request, *args, **kwargs)

    return wrapper


def _task_or_404(request, task_id):
    task = (
        Task.objects.filter(spa=request.spa, public_id=task_id)
        .select_related("practice", "assignee", "campaign_enrollment__campaign")
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def _practice_or_404(request, practice_id):
    practice = Practice.objects.filter(spa=request.spa, public_id=practice_id).first()
    if practice is None:
        raise Http404("No such practice.")
    return practice


def _safe_next(request, fallback):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


# --- My day and the task list ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def my_day(request, spa_slug):
    spa = request.spa
    form = QuickTaskForm(request.POST or None, prefix="quick")
    if request.method == "POST" and form.is_valid():
        activity.task_create(
            spa=spa,
            title=form.cleaned_data["title"],
            due_on=form.cleaned_data["due_on"] or activity.spa_today(spa),
            assignee=request.user,
            created_by=request.user,
            request=request,
        )
        messages.success(request, _("Task added."))
        return redirect("outreach:my_day", spa_slug=spa_slug)
    context = {**activity.my_day(spa=spa, user=request.user), "quick_form": form}
    return render(request, "outreach/my_day.html", context, status=400 if form.errors else 200)


@in_spa_timezone
def task_list(request, spa_slug):
    spa = request.spa
    filters = TaskFilterForm(request.GET or None, spa=spa, user=request.user)
    tasks = filters.filter(activity.task_list(spa=spa, state="all"))
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "outreach/tasks/partials/results.html" if request.htmx else "outreach/tasks/list.html"
    return render(
        request,
        template,
        {"filters": filters, "page": page, "query": query.urlencode(), "today": activity.spa_today(spa)},
    )


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def task_form(request, spa_slug, task_id=None):
    spa = request.spa
    task = _task_or_404(request, task_id) if task_id else None
    initial = {}
    if task is None:
        initial = {"due_on": activity.spa_today(spa), "assignee": request.user}
        practice_id = request.GET.get("practice")
        if practice_id:
            practice = Practice.objects.filter(spa=spa, public_id__in=_uuids(practice_id)).first()
            if practice:
                initial["practice"] = practice
    form = TaskForm(request.POST or None, instance=task, initial=initial, spa=spa)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if task is None:
                task, _created = activity.task_create(
                    spa=spa,
                    title=data["title"],
                    kind=data["kind"],
                    due_on=data["due_on"],
                    assignee=data["assignee"],
                    practice=data["practice"],
                    notes=data["notes"],
                    created_by=request.user,
                    request=request,
                )
                messages.success(request, _("Task added."))
            else:
                activity.task_update(
                    task=task,
                    actor=request.user,
                    request=request,
                    **{name: data[name] for name in ("title", "kind", "due_on", "assignee", "practice", "notes")},
                )
                messages.success(request, _("Task saved."))
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect(_safe_next(request, _url("outreach:my_day", spa_slug)))
    return render(
        request,
        "outreach/tasks/form.html",
        {"form": form, "task": task, "next": _safe_next(request, "")},
        status=400 if form.errors else 200,
    )


def _uuids(value):
    try:
        return [uuid.UUID(value)]
    except ValueError:
        return []


def _url(name, spa_slug):
    return reverse(name, args=[spa_slug])


# Other panels on the page (a practice's health and check-in card) listen for this and redraw themselves.
TOUCHPOINTS_CHANGED = "touchpointsChanged"


def _touchpoints_changed(response):
    response["HX-Trigger"] = TOUCHPOINTS_CHANGED
    return response


def _task_row_response(request, task):
    task = _task_or_404(request, task.public_id)
    response = render(
        request,
        "outreach/partials/task_row.html",
        {"task": task, "today": activity.spa_today(request.spa), "fresh": True},
    )
    return _touchpoints_changed(response)


@require_POST
@in_spa_timezone
def task_done(request, spa_slug, task_id):
    try:
        task = activity.task_complete(task=_task_or_404(request, task_id), actor=request.user, request=request)
    except Task.DoesNotExist:
        raise Http404("No such task.") from None
    if request.htmx:
        return _task_row_response(request, task)
    messages.success(request, _("Done: %(title)s.") % {"title": task.title})
    return redirect(_safe_next(request, _url("outreach:my_day", spa_slug)))


@require_POST
@in_spa_timezone
def task_undo(request, spa_slug, task_id):
    try:
        task = activity.task_reopen(task=_task_or_404(request, task_id), actor=request.user, request=request)
    except Task.DoesNotExist:
        raise Http404("No such task.") from None
    if request.htmx:
        return _task_row_response(request, task)
    messages.success(request, _("Open again: %(title)s.") % {"title": task.title})
    return redirect(_safe_next(request, _url("outreach:my_day", spa_slug)))


# --- touchpoints on a practice's page -------------------------------------------------------------


def activity_card_context(request, practice, form=None):
    today = activity.spa_today(request.spa)
    return {
        "practice": practice,
        "touchpoints": activity.practice_timeline(spa=request.spa, practice=practice),
        "touchpoint_form": form or TouchpointForm(practice=practice, today=today, auto_id="touch_%s"),
        "open_tasks": Task.objects.filter(spa=request.spa, practice=practice, done_at=None)
        .select_related("assignee")
        .order_by("due_on", "id")[:10],
        "today": today,
        "current_spa": request.spa,
        "current_membership": request.membership,
        "request": request,
    }


@require_POST
@in_spa_timezone
def touchpoint_log(request, spa_slug, practice_id):
    spa = request.spa
    practice = _practice_or_404(request, practice_id)
    form = TouchpointForm(request.POST, practice=practice, today=activity.spa_today(spa), auto_id="touch_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            activity.touchpoint_log(
                spa=spa,
                practice=practice,
                kind=data["kind"],
                occurred_on=data["occurred_on"],
                outcome=data["outcome"],
                notes=data["notes"],
                next_step=data["next_step"],
                clinicians=list(data["clinicians"]),
                contacts=list(data["contacts"]),
                actor=request.user,
                request=request,
            )
            if data["next_step_on"]:
                activity.task_create(
                    spa=spa,
                    title=data["next_step"],
                    due_on=data["next_step_on"],
                    practice=practice,
                    assignee=request.user,
                    created_by=request.user,
                    request=request,
                )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if not request.htmx:
                messages.success(request, _("Touchpoint logged."))
                return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)
            context = {**activity_card_context(request, practice), "notice": _("Touchpoint logged.")}
            return _touchpoints_changed(render(request, "outreach/partials/activity_card.html", context))
    context = activity_card_context(request, practice, form=form)
    return render(request, "outreach/partials/activity_card.html", context, status=400)


@require_POST
@in_spa_timezone
def touchpoint_delete(request, spa_slug, touchpoint_id):
    touchpoint = Touchpoint.objects.filter(spa=request.spa, public_id=touchpoint_id).select_related("practice").first()
    if touchpoint is None:
        raise Http404("No such touchpoint.")
    # The person who logged it, or a manager, may take it back.
    if touchpoint.logged_by_id != request.user.pk and not request.membership.has_role(Role.MANAGER):
        raise Http404("No such touchpoint.")
    practice = touchpoint.practice
    activity.touchpoint_delete(touchpoint=touchpoint, actor=request.user, request=request)
    if request.htmx:
        context = {**activity_card_context(request, practice), "notice": _("Touchpoint removed.")}
        return _touchpoints_changed(render(request, "outreach/partials/activity_card.html", context))
    messages.success(request, _("Touchpoint removed."))
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)


# --- the playbook ---------------------------------------------------------------------------------


@require_POST
@in_spa_timezone
def task_from_playbook(request, spa_slug, practice_id):
    practice = _practice_or_404(request, practice_id)
    try:
        task, created = playbook.playbook_task_add(
            spa=request.spa,
            practice=practice,
            step_key=request.POST.get("step", ""),
            actor=request.user,
            request=request,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        if created:
            messages.success(
                request,
                _("Added “%(title)s”, due %(due)s.") % {"title": task.title, "due": task.due_on.strftime("%b %-d")},
            )
        else:
            messages.info(request, _("That step is already on the task list."))
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)


# --- the spa's outreach rhythm --------------------------------------------------------------------


@requires_role(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def outreach_settings(request, spa_slug):
    settings_row = outreach_settings_for(request.spa)
    form = OutreachSettingsForm(request.POST or None, instance=settings_row)
    if request.method == "POST" and form.is_valid():
        activity.outreach_settings_update(
            spa=request.spa,
            actor=request.user,
            fields={name: form.cleaned_data[name] for name in OutreachSettingsForm.Meta.fields},
            request=request,
        )
        messages.success(request, _("Outreach rhythm saved."))
        return redirect("outreach:outreach_settings", spa_slug=spa_slug)
    return render(request, "outreach/settings.html", {"form": form}, status=400 if form.errors else 200)
