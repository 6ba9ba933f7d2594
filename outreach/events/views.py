"""Events pages: the list (upcoming and past), planning and editing an event, inviting practices, the event's
page with its invitees (RSVP, attendance and the person named, changed inline with htmx) and its follow-ups.

Roles: any member plans events, invites, records RSVPs and attendance and creates the follow-up tasks; that is
the team's day-to-day relationship work, like logging a touchpoint. Deleting an event needs a manager.
Dates and times are read and shown on the spa's wall clock.
"""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from infra.forms import apply_validation_error
from partners.models import Practice
from partners.selectors import practice_search, spa_cities
from referrals.views import in_spa_timezone
from spas.models import Role
from spas.tenancy import requires_role

from ..models import Event, EventInvitee
from . import selectors, services
from .forms import EventForm, InviteeForm, InviteFilterForm, InviteForm, person_choices

PAGE_SIZE = 20
MAX_LISTED_PRACTICES = 200


def _event_or_404(request, event_id):
    return get_object_or_404(Event.objects.select_related("spa", "created_by"), spa=request.spa, public_id=event_id)


def _invitee_or_404(request, event, invitee_id):
    return get_object_or_404(
        EventInvitee.objects.select_related("practice", "clinician", "contact", "event", "event__spa"),
        spa=request.spa,
        event=event,
        public_id=invitee_id,
    )


# --- the list ---------------------------------------------------------------------------------------


@require_GET
@in_spa_timezone
def event_list(request, spa_slug):
    when = "past" if request.GET.get("when") == "past" else "upcoming"
    listed = selectors.event_list(spa=request.spa, when=when)
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "when": when,
        "page": page,
        "counts": selectors.event_counts(spa=request.spa),
        "query_string": f"when={when}",
    }
    return render(request, "outreach/events/list.html", context)


# --- one event --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def event_form(request, spa_slug, event_id=None):
    event = _event_or_404(request, event_id) if event_id else None
    initial = (
        {"kind": request.GET.get("kind")} if event is None and request.GET.get("kind") in Event.Kind.values else {}
    )
    form = EventForm(
        request.POST if request.method == "POST" else None, instance=event, spa=request.spa, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in EventForm.Meta.fields}
        try:
            if event is None:
                event = services.event_create(spa=request.spa, actor=request.user, **fields)
                messages.success(request, _("Event planned. Invite the practices next."))
            else:
                services.event_update(event=event, actor=request.user, **fields)
                messages.success(request, _("Event saved."))
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect("outreach:event_detail", spa_slug=spa_slug, event_id=event.public_id)
    status = 400 if form.errors else 200
    return render(request, "outreach/events/form.html", {"form": form, "event": event}, status=status)


def _invitee_form(event, invitee, people, data=None, *, inline=True):
    """The row's form; ``inline``: its menus save through htmx as they change (the event's table)."""
    clinicians, contacts = people.get(invitee.practice_id, ([], []))
    url = reverse("outreach:event_invitee_update", args=[event.spa.slug, event.public_id, invitee.public_id])
    return InviteeForm(data, invitee=invitee, clinicians=clinicians, contacts=contacts, post_url=url if inline else "")


def _row(event, invitee, people, form=None):
    return {"invitee": invitee, "form": form or _invitee_form(event, invitee, people)}


def _panels_context(request, event, invitees):
    """The counts and follow-up panels (redrawn after every row change)."""
    tallies = selectors.invitee_tallies(invitees)
    tasks = selectors.event_follow_up_tasks(spa=request.spa, event=event)
    with_task = {task.practice_id for task in tasks}
    return {
        "event": event,
        "tallies": tallies,
        "tasks": tasks,
        "started": selectors.event_has_started(event),
        "practices_without_follow_up": len(tallies["attending_practice_ids"] - with_task),
    }


@require_GET
@in_spa_timezone
def event_detail(request, spa_slug, event_id):
    event = _event_or_404(request, event_id)
    invitees = selectors.event_invitees(spa=request.spa, event=event)
    people = selectors.people_by_practice(spa=request.spa, practice_ids={invitee.practice_id for invitee in invitees})
    context = _panels_context(request, event, invitees)
    context.update(
        {
            "rows": [_row(event, invitee, people) for invitee in invitees],
            "can_delete": request.membership.has_role(Role.MANAGER),
        }
    )
    return render(request, "outreach/events/detail.html", context)


@requires_role(Role.MANAGER)
@require_POST
def event_delete(request, spa_slug, event_id):
    event = _event_or_404(request, event_id)
    try:
        services.event_delete(event=event, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("outreach:event_detail", spa_slug=spa_slug, event_id=event.public_id)
    messages.success(request, _("“%(title)s” deleted.") % {"title": event.title})
    return redirect("outreach:event_list", spa_slug=spa_slug)


# --- inviting ---------------------------------------------------------------------------------------


def _listed_practices(request, filters):
    practices = Practice.objects.filter(spa=request.spa)
    if filters.is_valid():
        practices = practice_search(practices, filters.cleaned_data["q"], spa=request.spa)
        for name in ("specialty", "stage", "city"):
            if filters.cleaned_data[name]:
                practices = practices.filter(**{name: filters.cleaned_data[name]})
    return practices.order_by("name", "id")


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def event_invite(request, spa_slug, event_id):
    """Choose practices (filtered by name, specialty, stage or city) and, for each, optionally a person."""
    event = _event_or_404(request, event_id)
    filters = InviteFilterForm(request.GET, cities=spa_cities(spa=request.spa))
    practices = _listed_practices(request, filters)
    listed = list(practices[: MAX_LISTED_PRACTICES + 1])
    truncated = len(listed) > MAX_LISTED_PRACTICES
    listed = listed[:MAX_LISTED_PRACTICES]
    practice_ids = {practice.pk for practice in listed}
    if request.method == "POST":
        # The people of every practice posted, listed or not: the form checks each person named against them.
        posted_ids = _uuids(request.POST.getlist("practices"))
        practice_ids |= set(
            Practice.objects.filter(spa=request.spa, public_id__in=posted_ids).values_list("pk", flat=True)
        )
    people = selectors.people_by_practice(spa=request.spa, practice_ids=practice_ids)
    form = InviteForm(request.POST if request.method == "POST" else None, spa=request.spa, people=people)
    if request.method == "POST" and form.is_valid():
        try:
            created, skipped = services.event_invite(
                event=event, invitations=form.cleaned_data["invitations"], actor=request.user
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            message = _("%(count)s invited.") % {"count": len(created)}
            if skipped:
                message += " " + _("%(count)s already on the list.") % {"count": skipped}
            messages.success(request, message)
            return redirect("outreach:event_detail", spa_slug=spa_slug, event_id=event.public_id)
    invited = {}
    for invitee in selectors.event_invitees(spa=request.spa, event=event):
        invited.setdefault(invitee.practice_id, []).append(invitee)
    posted = set(request.POST.getlist("practices")) if request.method == "POST" else set()
    rows = []
    for practice in listed:
        clinicians, contacts = people.get(practice.pk, ([], []))
        rows.append(
            {
                "practice": practice,
                "checked": str(practice.public_id) in posted,
                "person_groups": [
                    {"label": label, "options": options}
                    for label, options in person_choices(clinicians, contacts, empty_label="")[1:]
                ],
                "person_value": request.POST.get(f"person_{practice.public_id}", ""),
                "invited": invited.get(practice.pk, []),
            }
        )
    context = {
        "event": event,
        "filters": filters,
        "form": form,
        "rows": rows,
        "truncated": truncated,
        "max_listed": MAX_LISTED_PRACTICES,
        "query_string": request.GET.urlencode(),
        "is_filtered": any(request.GET.values()),
    }
    return render(request, "outreach/events/invite.html", context, status=400 if form.errors else 200)


def _uuids(values):
    valid = []
    for value in values:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return valid


# --- one invitee ------------------------------------------------------------------------------------


def _row_response(request, event, *, invitee=None, form=None, removed=None, status=200):
    """htmx answer to a row change, all out of band: the row (or its removal), the counts and follow-ups."""
    invitees = selectors.event_invitees(spa=request.spa, event=event)
    context = _panels_context(request, event, invitees)
    if invitee is not None:
        people = selectors.people_by_practice(spa=request.spa, practice_ids={invitee.practice_id})
        context["row"] = _row(event, invitee, people, form)
    context["removed"] = removed
    return render(request, "outreach/events/partials/row_response.html", context, status=status)


@require_http_methods(["GET", "POST"])
@in_spa_timezone
def event_invitee_update(request, spa_slug, event_id, invitee_id):
    """Change one invitee's RSVP, attendance or person. Without htmx: a small page with the same form."""
    event = _event_or_404(request, event_id)
    invitee = _invitee_or_404(request, event, invitee_id)
    people = selectors.people_by_practice(spa=request.spa, practice_ids={invitee.practice_id})
    form = _invitee_form(
        event, invitee, people, request.POST if request.method == "POST" else None, inline=bool(request.htmx)
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                invitee = services.event_invitee_update(invitee=invitee, actor=request.user, **form.changes())
            except ValidationError as error:
                apply_validation_error(form, error)
        if not form.errors:
            if request.htmx:
                return _row_response(request, event, invitee=invitee)
            messages.success(request, _("Saved."))
            return redirect("outreach:event_detail", spa_slug=spa_slug, event_id=event.public_id)
        if request.htmx:
            return _row_response(request, event, invitee=invitee, form=form, status=400)
    context = {"event": event, "invitee": invitee, "form": form, "started": selectors.event_has_started(event)}
    return render(request, "outreach/events/invitee_form.html", context, status=400 if form.errors else 200)


@require_POST
@in_spa_timezone
def event_invitee_remove(request, spa_slug, event_id, invitee_id):
    event = _event_or_404(request, event_id)
    invitee = _invitee_or_404(request, event, invitee_id)
    services.event_invitee_remove(invitee=invitee, actor=request.user)
    if request.htmx:
        return _row_response(request, event, removed=invitee)
    messages.success(request, _("%(practice)s removed from the invitees.") % {"practice": invitee.practice.name})
    return redirect("outreach:event_detail", spa_slug=spa_slug, event_id=event.public_id)


# --- follow-ups -------------------------------------------------------------------------------------


@require_POST
@in_spa_timezone
def event_follow_ups_create(request, spa_slug, event_id):
    event = _event_or_404(request, event_id)
    try:
        created = services.event_follow_ups_create(event=event, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        if created:
            messages.success(
                request,
                ngettext(
                    "%(count)s follow-up task created; it is on the assignee's My day.",
                    "%(count)s follow-up tasks created; they are on the assignees' My day.",
                    len(created),
                )
                % {"count": len(created)},
            )
        else:
            messages.info(request, _("Every attending practice already has its follow-up task."))
    return redirect(f"{_detail_url(spa_slug, event)}#event-follow-ups")


def _detail_url(spa_slug, event):
    return reverse("outreach:event_detail", args=[spa_slug, event.public_id])
