"""The spa's referral pages: the inbox, one referral with its timeline and actions, settings (manual entry is
``referrals.intake.views``).

Dates are read and shown in the spa's time zone. Every GET of a referral's page writes one
"referral.viewed" audit event; the htmx answers to its actions show the refreshed panel and write
only the change's own event.
"""

import functools
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error
from infra.toasts import add_trigger, with_toast
from spas.models import Role, User
from spas.tenancy import requires_role

from . import inbox_services, selectors, services
from .attachments import attachment_response
from .consent.forms import AuthorizationPaperForm
from .followup.selectors import contact_refusal, follow_up_for
from .forms import (
    OPEN,
    AcceptForm,
    AssignForm,
    AttemptForm,
    CancelForm,
    CompleteForm,
    DeclineForm,
    NoShowForm,
    NoteForm,
    ReferralBulkForm,
    ReferralBulkUndoForm,
    ReferralFilter,
    ReferralSettingsForm,
    ScheduleForm,
)
from .inbound.selectors import inbound_address, pending_draft_count
from .models import Referral, Status, referral_settings_for

PAGE_SIZE = 50
# The htmx event after a change to referrals' status, assignee or New marks: the navigation badge and the
# inbox listen for it and reload (templates/includes/workspace_nav.html, referrals/partials/inbox_results.html).
REFERRALS_CHANGED = "referralsChanged"
INBOX_TABS = [
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.CONTACTED,
    Status.SCHEDULED,
    Status.UNREACHABLE,
    Status.NO_SHOW,
    Status.COMPLETED,
    Status.DECLINED,
    Status.CANCELLED,
    Status.WITHDRAWN,
]

# The actions on a referral's page, in the order the panel shows them.
ACTION_FORMS = {
    "accept": AcceptForm,
    "decline": DeclineForm,
    "attempt": AttemptForm,
    "schedule": ScheduleForm,
    "complete": CompleteForm,
    "no_show": NoShowForm,
    "cancel": CancelForm,
    "assign": AssignForm,
    "note": NoteForm,
}
ACTION_DONE = {
    "accept": gettext_lazy("Referral accepted."),
    "decline": gettext_lazy("Referral declined."),
    "attempt": gettext_lazy("Contact attempt logged."),
    "schedule": gettext_lazy("Appointment saved."),
    "complete": gettext_lazy("Marked completed."),
    "no_show": gettext_lazy("Marked as a no-show."),
    "cancel": gettext_lazy("Referral cancelled."),
    "assign": gettext_lazy("Assignment saved."),
    "note": gettext_lazy("Note added."),
}


def in_spa_timezone(view):
    """Read and show dates and times as the spa's staff see them on the wall clock."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.spa.timezone)):
            return view(request, *args, **kwargs)

    return wrapper


def referral_or_404(request, referral_id):
    referral = selectors.referral_detail(spa=request.spa, public_id=referral_id)
    if referral is None:
        raise Http404("No such referral.")
    return referral


# --- the inbox ------------------------------------------------------------------------------------


def _filters_key(referral_filter, *left_out):
    """The inbox filters in effect (cleaned values, sorted), without ``left_out``: a cache key's part."""
    if not referral_filter.is_bound or not referral_filter.form.is_valid():
        return ""
    values = referral_filter.form.cleaned_data
    parts = []
    for name in sorted(values):
        value = values[name]
        if name in left_out or value in (None, ""):
            continue
        parts.append(f"{name}={getattr(value, 'pk', value)}")
    return "&".join(parts)


def _total_from_counts(counts, status_value, overdue_value):
    if overdue_value is None:
        return counts.get(status_value or "all")
    if overdue_value is True and not status_value:
        return counts["overdue"]
    return None  # a combination the counts do not hold: the paginator counts itself


def _query_without(request, *names):
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _inbox_query(query):
    """The inbox's filters as asked, opening on the Open tab when no status (nor the Overdue tab) is asked for:
    a list opens on what still needs doing. ``status=`` (empty) is All."""
    query = query.copy()
    if "status" not in query and "overdue" not in query:
        query["status"] = OPEN
    return query


def _inbox_tab(status_value, overdue_value):
    if overdue_value is True and not status_value:
        return "overdue"
    return status_value or ""


@in_spa_timezone
def referral_inbox(request, spa_slug):
    spa = request.spa
    referrals = selectors.referral_inbox(spa=spa, membership=request.membership, archived=None)
    referral_filter = ReferralFilter(_inbox_query(request.GET), queryset=referrals, spa=spa)
    cleaned = referral_filter.form.cleaned_data if referral_filter.form.is_valid() else {}
    showing_archived = cleaned.get("archived") is True
    # The tabs count across statuses within the other filters (practice, channel, assignee…).
    counts = selectors.inbox_counts(
        queryset=referral_filter.queryset_without("status", "overdue"),
        spa=spa,
        filters=_filters_key(referral_filter, "status", "overdue", "archived"),
        archived=showing_archived,
    )
    status_value = cleaned.get("status") or ""
    overdue_value = cleaned.get("overdue")
    # The page's total is one of the counts already at hand, so paginating costs no COUNT(*) of its own.
    total = _total_from_counts(counts, status_value, overdue_value)
    ordered = selectors.inbox_ordered(referral_filter.qs, tab=_inbox_tab(status_value, overdue_value))
    page = selectors.CountedPaginator(ordered, PAGE_SIZE, count=total).get_page(request.GET.get("page"))
    tab_query = _query_without(request, "status", "overdue", "page")
    context = {
        "filter": referral_filter,
        "page": page,
        "query_string": _query_without(request, "page"),
        "practice_removed_query": _query_without(request, "practice", "page"),
        # Each row links to inbox_url + <uuid>/: one reverse() for the page instead of one per row.
        "inbox_url": reverse("referrals:inbox", args=[spa.slug]),
        "tab_query": tab_query,
        "is_filtered": any(value for key, value in request.GET.items() if key not in ("page", "status")),
        "counts": counts,
        "tabs": [(status.value, status.label, counts[status.value]) for status in INBOX_TABS],
        "active_status": status_value,
        "overdue_only": overdue_value is True,
        "showing_archived": showing_archived,
        "bulk_form": ReferralBulkForm(spa=spa, auto_id="bulk_%s"),
        "total": page.paginator.count,
        # Messages by email and text that wait for a person: a group of their own above the referrals.
        "drafts_pending": pending_draft_count(spa=spa),
    }
    template = "referrals/partials/inbox_results.html" if request.htmx else "referrals/inbox.html"
    return render(request, template, context)


def referral_nav_badges(request, spa_slug):
    """htmx: the navigation's Referrals badges (New for this member, overdue), reloaded on ``referralsChanged``."""
    return render(request, "referrals/partials/nav_badges.html")


def _referrals_changed(response):
    """Tell the page that referrals changed: the navigation badge and the inbox reload themselves."""
    return add_trigger(response, REFERRALS_CHANGED)


def _bulk_answer(request, message, *, undo_url=None, level="success", status=204):
    """htmx: no swap, a toast (with Undo) and ``referralsChanged`` (the inbox and the badge reload); a plain form
    post goes back to the inbox it came from."""
    if request.htmx:
        response = with_toast(HttpResponse(status=status), message, undo_url=undo_url, level=level)
        return _referrals_changed(response) if status < 400 else response
    (messages.success if level == "success" else messages.warning)(request, message)
    query = request.POST.get("query", "") if request.method == "POST" else ""
    inbox = reverse("referrals:inbox", args=[request.spa.slug])
    return redirect(f"{inbox}?{query}" if query else inbox)


def _ticked_referrals(spa, ids):
    """The ticked referrals, all of this spa or none: an id of another spa (or none at all) is a 404, before
    anything changes."""
    referrals = list(Referral.objects.filter(spa=spa, public_id__in=ids).select_related("spa", "assignee"))
    if len(referrals) != len(set(ids)):
        raise Http404("No such referral.")
    return referrals


def _count_message(singular, plural, count, **values):
    return ngettext(singular, plural, count) % {"count": count, **values}


@require_POST
@in_spa_timezone
def referral_bulk(request, spa_slug):
    """Run one bulk action on the referrals ticked in the inbox; one toast, with Undo where there is one."""
    spa = request.spa
    form = ReferralBulkForm(request.POST, spa=spa)
    if not form.is_valid():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return _bulk_answer(request, message, level="warning", status=400)
    referrals = _ticked_referrals(spa, form.cleaned_data["referral"])
    action = form.cleaned_data["action"]
    undo_url = reverse("referrals:bulk_undo", args=[spa.slug])
    if action in ("assign_me", "assign"):
        assignee = request.user if action == "assign_me" else form.cleaned_data["assignee"]
        try:
            changed = inbox_services.referrals_assign(referrals=referrals, assignee=assignee, actor=request.user)
        except ValidationError as error:
            return _bulk_answer(request, " ".join(error.messages), level="warning", status=400)
        # Whoever hands referrals out has triaged them: they are no longer New to them.
        inbox_services.referrals_mark_read(spa=spa, referrals=referrals, user=request.user)
        message = (
            _count_message("%(count)d referral assigned to you.", "%(count)d referrals assigned to you.", len(changed))
            if action == "assign_me"
            else _count_message(
                "%(count)d referral assigned to %(name)s.",
                "%(count)d referrals assigned to %(name)s.",
                len(changed),
                name=assignee.display_name,
            )
        )
        query = [("action", "assign")] + [
            ("previous", f"{referral.public_id}:{previous or ''}") for referral, previous in changed
        ]
        return _bulk_answer(request, message, undo_url=f"{undo_url}?{urlencode(query)}" if changed else None)
    if action == "mark_read":
        unread = inbox_services.referrals_mark_read(spa=spa, referrals=referrals, user=request.user)
        message = _count_message("%(count)d referral marked read.", "%(count)d referrals marked read.", len(unread))
        query = [("action", "mark_read")] + [("referral", str(referral.public_id)) for referral in unread]
        return _bulk_answer(request, message, undo_url=f"{undo_url}?{urlencode(query)}" if unread else None)
    if action == "restore":
        restored = inbox_services.referrals_restore(spa=spa, referrals=referrals, actor=request.user)
        message = _count_message(
            "%(count)d referral back in the inbox.", "%(count)d referrals back in the inbox.", len(restored)
        )
        return _bulk_answer(request, message)
    archived = inbox_services.referrals_archive(
        spa=spa, referrals=referrals, reason=form.archive_reason, actor=request.user
    )
    message = _count_message(
        "%(count)d referral archived. Find it under “Archived (test, spam)”.",
        "%(count)d referrals archived. Find them under “Archived (test, spam)”.",
        len(archived),
    )
    query = [("action", "archive")] + [("referral", str(referral.public_id)) for referral in archived]
    return _bulk_answer(request, message, undo_url=f"{undo_url}?{urlencode(query)}" if archived else None)


@require_POST
@in_spa_timezone
def referral_bulk_undo(request, spa_slug):
    """A bulk action's Undo (the toast posts here with what to undo in the address)."""
    spa = request.spa
    form = ReferralBulkUndoForm(request.GET)
    if not form.is_valid():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return _bulk_answer(request, message, level="warning", status=400)
    action = form.cleaned_data["action"]
    if action == "assign":
        pairs = form.cleaned_data["pairs"]
        referrals = {referral.public_id: referral for referral in _ticked_referrals(spa, [p[0] for p in pairs])}
        members = {user.pk: user for user in User.objects.filter(memberships__spa=spa, pk__in={p[1] for p in pairs})}
        try:
            inbox_services.referrals_restore_assignees(
                spa=spa,
                previous=[(referrals[referral_id], members.get(user_id)) for referral_id, user_id in pairs],
                actor=request.user,
            )
        except ValidationError as error:
            return _bulk_answer(request, " ".join(error.messages), level="warning", status=400)
        return _bulk_answer(request, _("Assignment undone."))
    referrals = _ticked_referrals(spa, form.cleaned_data["referral"])
    if action == "mark_read":
        inbox_services.referrals_mark_unread(spa=spa, referrals=referrals, user=request.user)
        return _bulk_answer(request, _("Marked unread again."))
    inbox_services.referrals_restore(spa=spa, referrals=referrals, actor=request.user)
    return _bulk_answer(request, _("Archiving undone: back in the inbox."))


# --- one referral ---------------------------------------------------------------------------------


def _action_forms(referral, bound=None):
    """One form per action the referral's state allows, plus assignment and notes; ``bound`` keeps a
    refused form with its errors."""
    allowed = referral.allowed_moves()
    offered = {
        "accept": Status.ACCEPTED in allowed,
        "decline": Status.DECLINED in allowed,
        "attempt": referral.can_log_attempt,
        "schedule": Status.SCHEDULED in allowed,
        "complete": Status.COMPLETED in allowed,
        "no_show": Status.NO_SHOW in allowed,
        "cancel": Status.CANCELLED in allowed,
        "assign": True,
        "note": True,
    }
    forms = {}
    for name, form_class in ACTION_FORMS.items():
        if not offered[name]:
            continue
        if bound is not None and bound[0] == name:
            forms[name] = bound[1]
        else:
            forms[name] = form_class(initial={"version": referral.version}, referral=referral, auto_id=f"{name}_%s")
    return forms


def _refusals(form):
    messages = list(form.non_field_errors())
    if any(field.errors for field in form.hidden_fields()):
        # No version posted (a tampered or truncated form): nothing to say beside a field.
        messages.append(_("This form is out of date. Reload the page and try again."))
    return messages


def detail_context(referral, *, bound=None, notice=""):
    attempts_allowed = referral_settings_for(referral.spa).unreachable_after_attempts
    return {
        "referral": referral,
        "actions": _action_forms(referral, bound),
        "open_action": bound[0] if bound else "",
        # Refusals that belong to no field (an illegal move, a stale page) show at the top of the panel.
        "refused": _refusals(bound[1]) if bound else [],
        "notice": notice,
        "attempts_allowed": attempts_allowed,
        "events": referral.events.all(),
        "consent_form": AuthorizationPaperForm(auto_id="consent_%s"),
        **_follow_up_context(referral),
    }


def _follow_up_context(referral):
    """The patient's thank-you after a completed referral: its state, or why none was scheduled."""
    if referral.status != Status.COMPLETED:
        return {"follow_up": None, "follow_up_refusal": ""}
    follow_up = follow_up_for(referral)
    return {"follow_up": follow_up, "follow_up_refusal": "" if follow_up else contact_refusal(referral)}


@in_spa_timezone
def referral_detail(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    services.referral_record_view(referral=referral, actor=request.user, channel="spa")
    inbox_services.referral_mark_seen(referral=referral, user=request.user)
    return render(request, "referrals/detail.html", detail_context(referral))


def _run_action(request, referral, name, form):
    data = form.cleaned_data
    common = {"referral": referral, "actor": request.user}
    if name == "attempt":
        services.referral_log_attempt(
            outcome=data["outcome"], note=data["note"], expected_version=data["version"], **common
        )
    elif name == "assign":
        services.referral_assign(assignee=data["assignee"], expected_version=data["version"], **common)
    elif name == "note":
        services.referral_add_note(note=data["note"], **common)
    else:
        services.referral_transition(**form.transition_kwargs(), **common)


@require_POST
@in_spa_timezone
def referral_action(request, spa_slug, referral_id, action):
    """Run one action. htmx gets the refreshed panel (and timeline) back; a plain form post is redirected."""
    referral = referral_or_404(request, referral_id)
    form = ACTION_FORMS[action](request.POST, referral=referral, auto_id=f"{action}_%s")
    if form.is_valid():
        try:
            _run_action(request, referral, action, form)
        except ValidationError as error:
            apply_validation_error(form, error)
    if form.errors:
        if request.htmx:
            context = detail_context(referral, bound=(action, form))
            return render(request, "referrals/partials/panel_response.html", context, status=400)
        # Without htmx the whole page is drawn again, with the refused form open: that is a view too.
        services.referral_record_view(referral=referral, actor=request.user, channel="spa")
        return render(request, "referrals/detail.html", detail_context(referral, bound=(action, form)), status=400)
    if request.htmx:
        referral = referral_or_404(request, referral_id)
        context = detail_context(referral, notice=ACTION_DONE[action])
        response = render(request, "referrals/partials/panel_response.html", context)
        # A note changes neither status nor assignee; everything else may move the badge's counts.
        return response if action == "note" else _referrals_changed(response)
    messages.success(request, ACTION_DONE[action])
    return redirect("referrals:detail", spa_slug=spa_slug, referral_id=referral.public_id)


def referral_attachment(request, spa_slug, referral_id):
    """The attachment as a download, for members of the referral's spa only; every download is audited."""
    referral = referral_or_404(request, referral_id)
    if not referral.attachment:
        raise Http404("No attachment.")
    response = attachment_response(referral)
    services.referral_record_attachment_download(referral=referral, actor=request.user)
    return response


# --- settings -------------------------------------------------------------------------------------


@requires_role(Role.OWNER)
def referral_settings(request, spa_slug):
    spa = request.spa
    current = referral_settings_for(spa)
    form = ReferralSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.referral_settings_update(
                spa=spa,
                actor=request.user,
                fields={name: form.cleaned_data[name] for name in ReferralSettingsForm.Meta.fields},
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Referral settings saved."))
            return redirect("referrals:settings", spa_slug=spa.slug)
    context = {
        "form": form,
        # Where clinics email and text referrals (read-only: the operator sets the domain and assigns the number).
        "inbound_address": inbound_address(spa),
        "inbound_sms_number": current.inbound_sms_number,
    }
    return render(request, "referrals/settings.html", context, status=400 if form.errors else 200)
