"""Day-to-day outreach pages: My day, the team's tasks, a task's form, done/undo, logging touchpoints from a
practice's page, adding playbook steps and the spa's outreach rhythm.

Done/undo and the practice page's quick-log answer htmx with the refreshed fragment; plain posts redirect.
"""

import functools
import uuid
import zoneinfo
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from infra.forms import apply_validation_error
from infra.toasts import add_trigger, with_toast
from partners.models import Practice
from referrals.models import ReferralEvent
from spas.models import Role
from spas.tenancy import requires_role

from ..models import Task, Touchpoint, outreach_settings_for
from . import playbook, selectors, services
from .forms import (
    OutreachSettingsForm,
    QuickTaskForm,
    SnoozeForm,
    SnoozeUndoForm,
    TaskFilterForm,
    TaskForm,
    TaskSelectionForm,
    TouchpointForm,
)

PAGE_SIZE = 50


def in_spa_timezone(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.spa.timezone)):
            return view(request, *args, **kwargs)

    return wrapper


def _task_or_404(request, task_id):
    task = selectors.task_detail(spa=request.spa, public_id=task_id)
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

# The parts of My day that its htmx actions draw again: the tasks (with "Done today") and the patients.
MY_DAY_TASKS = "my-day-tasks"
TASK_RESULTS = "task-results"


def _patients_context(request):
    everyone = request.GET.get("patients") == "all"
    return {
        "patients": selectors.patients_to_contact(spa=request.spa, user=request.user, everyone=everyone),
        "patients_everyone": everyone,
        "attempt_outcomes": ReferralEvent.Outcome.choices,
    }


def _my_day_tasks_response(request, *, status=200):
    context = {**selectors.my_day(spa=request.spa, user=request.user), "on_my_day": True}
    return render(request, "outreach/partials/my_day_tasks.html", context, status=status)


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def my_day(request, spa_slug):
    spa = request.spa
    form = QuickTaskForm(request.POST or None, prefix="quick")
    if request.method == "POST" and form.is_valid():
        services.task_create(
            spa=spa,
            title=form.cleaned_data["title"],
            due_on=form.cleaned_data["due_on"] or selectors.spa_today(spa),
            assignee=request.user,
            created_by=request.user,
        )
        messages.success(request, _("Task added."))
        return redirect("outreach:my_day", spa_slug=spa_slug)
    context = {
        **selectors.my_day(spa=spa, user=request.user),
        **_patients_context(request),
        "quick_form": form,
        "on_my_day": True,
    }
    return render(request, "outreach/my_day.html", context, status=400 if form.errors else 200)


@in_spa_timezone
def my_day_patients(request, spa_slug):
    """htmx: the "Patients to contact" list again, after an attempt was logged from it."""
    return render(request, "outreach/partials/patients_to_contact.html", _patients_context(request))


def _task_list_context(request, query):
    spa = request.spa
    filters = TaskFilterForm(query or None, spa=spa, user=request.user)
    tasks = filters.filter(selectors.task_list(spa=spa, state="all"))
    page = Paginator(tasks, PAGE_SIZE).get_page(query.get("page"))
    query = query.copy()
    query.pop("page", None)
    return {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "today": selectors.spa_today(spa),
        "snooze_dates": selectors.snooze_dates(spa),
    }


@in_spa_timezone
def task_list(request, spa_slug):
    template = "outreach/tasks/partials/results.html" if request.htmx else "outreach/tasks/list.html"
    return render(request, template, _task_list_context(request, request.GET))


def _task_list_results_response(request):
    # The list as the person sees it: the filters and page of the address their browser shows.
    current = urlsplit(request.htmx.current_url or "")
    context = _task_list_context(request, QueryDict(current.query))
    return render(request, "outreach/tasks/partials/results.html", context)


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def task_form(request, spa_slug, task_id=None):
    spa = request.spa
    task = _task_or_404(request, task_id) if task_id else None
    initial = {}
    if task is None:
        initial = {"due_on": selectors.spa_today(spa), "assignee": request.user}
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
                task, _created = services.task_create(
                    spa=spa,
                    title=data["title"],
                    kind=data["kind"],
                    due_on=data["due_on"],
                    assignee=data["assignee"],
                    practice=data["practice"],
                    notes=data["notes"],
                    created_by=request.user,
                )
                messages.success(request, _("Task added."))
            else:
                services.task_update(
                    task=task,
                    actor=request.user,
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
    return add_trigger(response, TOUCHPOINTS_CHANGED)


def _task_row_response(request, task):
    task = _task_or_404(request, task.public_id)
    on_my_day = request.POST.get("on") == "my_day"
    context = {
        "task": task,
        "today": selectors.spa_today(request.spa),
        "snooze_dates": selectors.snooze_dates(request.spa),
        "on_my_day": on_my_day,
    }
    if on_my_day:
        # The row changes in place (ticked, with its Undo); "Done today" beside it follows.
        context["done_today"] = selectors.my_day(spa=request.spa, user=request.user)["done_today"]
    return _touchpoints_changed(render(request, "outreach/partials/task_row_response.html", context))


@require_POST
@in_spa_timezone
def task_done(request, spa_slug, task_id):
    try:
        task = services.task_complete(task=_task_or_404(request, task_id), actor=request.user)
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
        task = services.task_reopen(task=_task_or_404(request, task_id), actor=request.user)
    except Task.DoesNotExist:
        raise Http404("No such task.") from None
    if request.htmx and request.htmx.target == MY_DAY_TASKS:  # Undo in "Done today"
        response = _my_day_tasks_response(request)
        return _touchpoints_changed(with_toast(response, _("Open again: %(title)s.") % {"title": task.title}))
    if request.htmx:
        return _task_row_response(request, task)
    messages.success(request, _("Open again: %(title)s.") % {"title": task.title})
    return redirect(_safe_next(request, _url("outreach:my_day", spa_slug)))


def _ids_query(tasks):
    return urlencode([("task", str(task.public_id)) for task in tasks])


def _after_bulk(request, message, *, undo_url=None, level="success"):
    """htmx: the part of the page the bulk form drew from, again, with a toast; else back to that page."""
    if request.htmx and request.htmx.target == MY_DAY_TASKS:
        response = _my_day_tasks_response(request)
    elif request.htmx and request.htmx.target == TASK_RESULTS:
        response = _task_list_results_response(request)
    elif request.htmx:
        return add_trigger(HttpResponse(status=204), "showToast", {"message": str(message), "level": level})
    else:
        (messages.success if level == "success" else messages.warning)(request, message)
        return redirect(_safe_next(request, _url("outreach:my_day", request.spa.slug)))
    return _touchpoints_changed(with_toast(response, message, undo_url=undo_url, level=level))


@require_POST
@in_spa_timezone
def task_bulk_done(request, spa_slug):
    """Mark the ticked tasks done; one toast whose Undo opens them all again."""
    form = TaskSelectionForm(request.POST)
    if not form.is_valid():
        return _after_bulk(request, " ".join(form.errors["task"]), level="warning")
    done = services.tasks_complete(spa=request.spa, task_ids=form.cleaned_data["task"], actor=request.user)
    if not done:
        return _after_bulk(request, _("None of those tasks is open any more."), level="warning")
    message = ngettext("%(count)d task done.", "%(count)d tasks done.", len(done)) % {"count": len(done)}
    undo_url = f"{_url('outreach:task_bulk_undo', spa_slug)}?{_ids_query(done)}"
    return _after_bulk(request, message, undo_url=undo_url)


@require_POST
@in_spa_timezone
def task_bulk_undo(request, spa_slug):
    """A bulk "done"'s Undo (the toast posts here with the tasks in the address): all of them open again."""
    form = TaskSelectionForm(request.GET)
    if not form.is_valid():
        if request.htmx:
            return add_trigger(
                HttpResponse(status=400), "showToast", {"message": " ".join(form.errors["task"]), "level": "warning"}
            )
        return HttpResponseBadRequest(" ".join(form.errors["task"]))
    reopened = services.tasks_reopen(spa=request.spa, task_ids=form.cleaned_data["task"], actor=request.user)
    messages.success(
        request,
        ngettext("%(count)d task open again.", "%(count)d tasks open again.", len(reopened)) % {"count": len(reopened)},
    )
    return _refresh(request)


def _refresh(request):
    """After an Undo from a toast: the page the person is on, drawn again (a plain post goes to My day)."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(_safe_next(request, _url("outreach:my_day", request.spa.slug)))


@require_POST
@in_spa_timezone
def task_snooze(request, spa_slug, task_id):
    """Put a task off to tomorrow or next week; a toast offers Undo (its old due date goes in the Undo's address)."""
    task = _task_or_404(request, task_id)
    form = SnoozeForm(request.POST)
    if form.is_valid():
        until = selectors.snooze_dates(request.spa)[form.cleaned_data["until"]]
        try:
            task, previous = services.task_snooze(task=task, until=until, actor=request.user)
        except Task.DoesNotExist:
            raise Http404("No such task.") from None
        except ValidationError as error:
            apply_validation_error(form, error)
    if form.errors:
        message = " ".join(str(error) for errors in form.errors.values() for error in errors)
        if request.htmx:
            return add_trigger(HttpResponse(status=400), "showToast", {"message": message, "level": "warning"})
        messages.warning(request, message)
        return redirect(_safe_next(request, _url("outreach:my_day", spa_slug)))
    message = _("Snoozed until %(day)s: %(title)s.") % {
        "day": date_format(task.due_on, "D, M j"),
        "title": task.title,
    }
    undo_url = (
        reverse("outreach:task_snooze_undo", args=[spa_slug, task.public_id])
        + "?"
        + urlencode({"due_on": previous.isoformat()})
    )
    if request.htmx and request.htmx.target == MY_DAY_TASKS:
        return with_toast(_my_day_tasks_response(request), message, undo_url=undo_url)
    if request.htmx:
        return with_toast(_task_row_response(request, task), message, undo_url=undo_url)
    messages.success(request, message)
    return redirect(_safe_next(request, _url("outreach:my_day", spa_slug)))


@require_POST
@in_spa_timezone
def task_snooze_undo(request, spa_slug, task_id):
    """A snooze's Undo: the task is due when it was before."""
    task = _task_or_404(request, task_id)
    form = SnoozeUndoForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Enter a valid date."))
    if task.done_at is None:
        services.task_update(task=task, actor=request.user, due_on=form.cleaned_data["due_on"])
        messages.success(request, _("Snooze undone: %(title)s.") % {"title": task.title})
    return _refresh(request)


# --- touchpoints on a practice's page -------------------------------------------------------------


TIMELINE_SHOW = [
    ("all", gettext_lazy("All")),
    ("conversations", gettext_lazy("Conversations")),
    ("gifts", gettext_lazy("Gifts")),
]


def _timeline_show(request):
    """The timeline filter the page asked for (``?timeline=gifts``; forms on the card post it back)."""
    value = request.POST.get("timeline") or request.GET.get("timeline") or "all"
    return value if value in selectors.TIMELINE_FILTERS else "all"


def activity_card_context(request, practice, form=None):
    today = selectors.spa_today(request.spa)
    show = _timeline_show(request)
    return {
        "practice": practice,
        "touchpoints": selectors.practice_timeline(spa=request.spa, practice=practice, show=show),
        "timeline_show": show,
        "timeline_choices": TIMELINE_SHOW,
        "touchpoint_form": form or TouchpointForm(practice=practice, today=today, auto_id="touch_%s"),
        # Its own tasks and the rolled-up ones that cover it (the week's thank-you notes).
        "open_tasks": Task.objects.filter(
            Q(practice=practice) | Q(covered__practice=practice), spa=request.spa, done_at=None
        )
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
    form = TouchpointForm(request.POST, practice=practice, today=selectors.spa_today(spa), auto_id="touch_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.touchpoint_log(
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
            )
            if data["next_step_on"]:
                services.task_create(
                    spa=spa,
                    title=data["next_step"],
                    due_on=data["next_step_on"],
                    practice=practice,
                    assignee=request.user,
                    created_by=request.user,
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
    undo_url = reverse("outreach:touchpoint_restore", args=[spa_slug, touchpoint.public_id])
    services.touchpoint_delete(touchpoint=touchpoint, actor=request.user)
    if request.htmx:
        response = render(request, "outreach/partials/activity_card.html", activity_card_context(request, practice))
        return _touchpoints_changed(with_toast(response, _("Touchpoint removed."), undo_url=undo_url))
    messages.success(request, _("Touchpoint removed."))
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)


@require_POST
@in_spa_timezone
def touchpoint_restore(request, spa_slug, touchpoint_id):
    """A removal's Undo (the toast posts here): the touchpoint comes back. Whoever removed it, or a manager."""
    removal = selectors.touchpoint_removal(spa=request.spa, touchpoint_id=touchpoint_id)
    if removal is None or (removal.actor_id != request.user.pk and not request.membership.has_role(Role.MANAGER)):
        raise Http404("No such touchpoint.")
    try:
        touchpoint = services.touchpoint_restore(spa=request.spa, removal=removal, actor=request.user)
    except ValidationError as error:
        message = " ".join(error.messages)
        if request.htmx:
            return add_trigger(HttpResponse(status=409), "showToast", {"message": message, "level": "warning"})
        messages.warning(request, message)
        return redirect("outreach:my_day", spa_slug=spa_slug)
    messages.success(request, _("Touchpoint restored."))
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=touchpoint.practice.public_id)


@in_spa_timezone
def practice_timeline(request, spa_slug, practice_id):
    """htmx: the practice's touchpoint card again, its timeline filtered (All / Conversations / Gifts)."""
    practice = _practice_or_404(request, practice_id)
    if not request.htmx:
        query = urlencode({"timeline": _timeline_show(request)})
        return redirect(reverse("partners:detail", args=[spa_slug, practice.public_id]) + f"?{query}#practice-activity")
    return render(request, "outreach/partials/activity_card.html", activity_card_context(request, practice))


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
        services.outreach_settings_update(
            spa=request.spa,
            actor=request.user,
            fields={name: form.cleaned_data[name] for name in OutreachSettingsForm.Meta.fields},
        )
        messages.success(request, _("Outreach rhythm saved."))
        return redirect("outreach:outreach_settings", spa_slug=spa_slug)
    return render(request, "outreach/settings.html", {"form": form}, status=400 if form.errors else 200)
