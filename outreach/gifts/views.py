"""Gift ledger pages: the ledger with each recipient's year against the limit, recording a gift, an
owner's correction or removal, the yearly report (and its CSV), and the yearly limits.

Any member may record a gift and read the ledger; going over the limit, correcting or removing an
entry and setting a year's limit are an owner's; the CSV export needs a manager.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from infra.audit import audit_record
from infra.csv_export import csv_response
from infra.forms import apply_validation_error
from referrals.views import in_spa_timezone
from spas.models import Role
from spas.tenancy import requires_role

from ..activity.selectors import spa_today
from ..models import Gift
from . import selectors, services
from .forms import (
    GiftCorrectForm,
    GiftDateForm,
    GiftDeleteForm,
    GiftFilterForm,
    GiftForm,
    GiftLimitForm,
    YearChoiceForm,
    practice_from,
)

ENTRIES_PER_PAGE = 50
RECIPIENTS_PER_PAGE = 50
LEDGER_TOP_RECIPIENTS = 12


def _is_owner(request):
    return request.membership.role == Role.OWNER


def _checked_year(year):
    if not services.EARLIEST_YEAR <= year <= services.LATEST_YEAR:
        raise Http404("No such year.")
    return year


def _gift_or_404(request, gift_id):
    gift = (
        Gift.objects.select_related("practice", "recipient_clinician", "recipient_contact", "logged_by", "override_by")
        .filter(spa=request.spa, public_id=gift_id)
        .first()
    )
    if gift is None:
        raise Http404("No such gift.")
    return gift


def _query_without(request, *names):
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# --- the ledger ------------------------------------------------------------------------------------


@in_spa_timezone
def gift_ledger(request, spa_slug):
    spa = request.spa
    this_year = spa_today(spa).year
    years = selectors.gift_years(spa=spa, around=this_year)
    data = request.GET.copy()
    data.setdefault("year", str(this_year))
    asked = data.get("year", "")
    if asked.isdigit() and services.EARLIEST_YEAR <= int(asked) <= services.LATEST_YEAR and int(asked) not in years:
        years = sorted({*years, int(asked)}, reverse=True)  # any year can be looked at, even an empty one
    # The recipient menu lists the people of the practice chosen, when one is.
    recipients = selectors.gift_recipients(spa=spa, practice=practice_from(spa, data.get("practice")))
    filters = GiftFilterForm(data, spa=spa, years=years, recipients=recipients)
    filters.is_valid()  # a value that is not valid is shown beside its filter and ignored
    cleaned = filters.cleaned_data
    year = cleaned.get("year") or this_year
    practice = cleaned.get("practice")
    recipient = cleaned.get("recipient")
    limits = selectors.GiftLimits(spa)
    standings = selectors.recipient_year_totals(
        spa=spa, year=year, practice=practice, recipient=recipient, limits=limits
    )
    entries = selectors.gift_entries(spa=spa, year=year, practice=practice, recipient=recipient)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "year": year,
        "this_year": this_year,
        "limit": limits.for_year(year),
        "standings": standings[:LEDGER_TOP_RECIPIENTS],
        "standing_count": len(standings),
        "summary": selectors.gift_year_summary(standings),
        "page": page,
        "query_string": _query_without(request, "page"),
        "is_filtered": bool(practice or recipient),
        "can_manage_entries": _is_owner(request),
    }
    template = "outreach/gifts/partials/ledger_results.html" if request.htmx else "outreach/gifts/ledger.html"
    return render(request, template, context)


# --- recording, correcting, removing ---------------------------------------------------------------


def _form_initial(request):
    spa = request.spa
    initial = {"given_on": spa_today(spa)}
    for name in ("practice", "recipient"):
        value = request.GET.get(name)
        if value:
            initial[name] = value
    if "recipient" in initial and "practice" not in initial:
        person = selectors.recipient_from_key(spa=spa, key=initial["recipient"])
        if person is not None:
            initial["practice"] = person.practice.public_id
    return initial


def _recorded_message(request, recorded):
    standing = recorded.standing
    values = {
        "person": standing.name,
        "year": standing.year,
        "total": selectors.money(standing.total),
        "limit": selectors.money(standing.limit.amount),
        "percent": standing.percent if standing.percent is not None else "—",
        "remaining": selectors.money(standing.remaining),
    }
    if recorded.overridden:
        messages.warning(
            request,
            _(
                "Gift recorded over the limit with your override: %(person)s has now received %(total)s in "
                "%(year)s, against a limit of %(limit)s."
            )
            % values,
        )
    elif standing.state == "warning":
        messages.warning(
            request,
            _(
                "Gift recorded. %(person)s has now received %(total)s in %(year)s — %(percent)s%% of the "
                "%(limit)s limit; %(remaining)s remains for the year."
            )
            % values,
        )
    else:
        messages.success(
            request,
            _("Gift recorded. %(person)s has received %(total)s of the %(limit)s limit in %(year)s.") % values,
        )


@in_spa_timezone
def gift_create(request, spa_slug):
    spa = request.spa
    form = GiftForm(request.POST or None, initial=_form_initial(request), spa=spa, can_override=_is_owner(request))
    if request.method == "POST" and form.is_valid():
        try:
            recorded = services.gift_record(spa=spa, actor=request.user, **form.service_values())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            _recorded_message(request, recorded)
            return redirect("outreach:gift_ledger", spa_slug=spa.slug)
    context = {"form": form, "standing": _standing_for_form(form)}
    return render(request, "outreach/gifts/form.html", context, status=400 if form.errors else 200)


def _standing_for_form(form, excluding=None):
    """The chosen person's year so far, shown beside the form (from the posted or pre-filled values)."""
    spa = form.spa
    key = form.data.get("recipient") if form.is_bound else form.initial.get("recipient")
    person = selectors.recipient_from_key(spa=spa, key=key) if key else None
    if person is None:
        return None
    given_on = form.cleaned_data.get("given_on") if form.is_bound and hasattr(form, "cleaned_data") else None
    year = (given_on or form.initial.get("given_on") or spa_today(spa)).year
    total = selectors.recipient_year_total(spa=spa, recipient=person, year=year, excluding=excluding)
    return selectors.RecipientYear(
        person=person,
        practice=person.practice,
        year=year,
        total=total,
        limit=selectors.gift_limit_for(spa=spa, year=year),
    )


@require_GET
@in_spa_timezone
def gift_recipient_options(request, spa_slug):
    """htmx: the "Given to" menu for the practice just chosen."""
    form = GiftForm(
        initial={"practice": request.GET.get("practice") or None}, spa=request.spa, can_override=_is_owner(request)
    )
    return render(request, "outreach/gifts/partials/recipient_options.html", {"form": form})


@require_GET
@in_spa_timezone
def gift_recipient_standing(request, spa_slug):
    """htmx: how much the person just chosen has received this year, against the limit."""
    spa = request.spa
    person = selectors.recipient_from_key(spa=spa, key=request.GET.get("recipient"))
    standing = None
    if person is not None:
        form = GiftDateForm(request.GET)
        year = form.cleaned_data["given_on"].year if form.is_valid() else spa_today(spa).year
        standing = selectors.RecipientYear(
            person=person,
            practice=person.practice,
            year=year,
            total=selectors.recipient_year_total(spa=spa, recipient=person, year=year),
            limit=selectors.gift_limit_for(spa=spa, year=year),
        )
    return render(request, "outreach/gifts/partials/recipient_standing.html", {"standing": standing})


@requires_role(Role.OWNER)
@in_spa_timezone
def gift_correct(request, spa_slug, gift_id):
    spa = request.spa
    gift = _gift_or_404(request, gift_id)
    initial = {
        "practice": gift.practice.public_id,
        "recipient": selectors.recipient_key(gift.recipient),
        "given_on": gift.given_on,
        "kind": gift.kind,
        "description": gift.description,
        "fair_market_value": f"{gift.fair_market_value:.2f}",
        "override_reason": gift.override_reason,
    }
    form = GiftCorrectForm(request.POST or None, initial=initial, spa=spa, can_override=True)
    if request.method == "POST" and form.is_valid():
        try:
            recorded = services.gift_correct(
                gift=gift,
                actor=request.user,
                reason=form.cleaned_data["correction_reason"],
                **form.service_values(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            _recorded_message(request, recorded)
            return redirect("outreach:gift_ledger", spa_slug=spa.slug)
    context = {"form": form, "gift": gift, "standing": _standing_for_form(form, excluding=gift)}
    return render(request, "outreach/gifts/form.html", context, status=400 if form.errors else 200)


@requires_role(Role.OWNER)
@in_spa_timezone
def gift_delete(request, spa_slug, gift_id):
    gift = _gift_or_404(request, gift_id)
    form = GiftDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.gift_delete(gift=gift, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("The entry was removed. The reason is kept in the audit trail."))
            return redirect("outreach:gift_ledger", spa_slug=spa_slug)
    return render(
        request, "outreach/gifts/delete.html", {"form": form, "gift": gift}, status=400 if form.errors else 200
    )


# --- the yearly report -----------------------------------------------------------------------------


@require_GET
def gift_report_current(request, spa_slug):
    """The report's year chooser lands here (?year=2025) and goes on to that year's report."""
    spa = request.spa
    this_year = spa_today(spa).year
    form = YearChoiceForm(request.GET or None, years=selectors.gift_years(spa=spa, around=this_year))
    year = form.cleaned_data["year"] if form.is_bound and form.is_valid() else this_year
    return redirect("outreach:gift_report", spa_slug=spa.slug, year=year)


@in_spa_timezone
def gift_report(request, spa_slug, year):
    spa = request.spa
    year = _checked_year(year)
    this_year = spa_today(spa).year
    limits = selectors.GiftLimits(spa)
    standings = selectors.recipient_year_totals(spa=spa, year=year, limits=limits)
    page = Paginator(standings, RECIPIENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "year": year,
        "this_year": this_year,
        "year_form": YearChoiceForm(
            initial={"year": year},
            years=sorted({*selectors.gift_years(spa=spa, around=this_year), year}, reverse=True),
        ),
        "limit": limits.for_year(year),
        "page": page,
        "summary": selectors.gift_year_summary(standings),
        "query_string": "",
    }
    return render(request, "outreach/gifts/report.html", context)


REPORT_HEADER = [
    "Year",
    "Recipient",
    "Role",
    "Practice",
    "Gifts",
    "Total (USD)",
    "Limit (USD)",
    "Percent of limit used",
    "Status",
    "Overrides",
]
STATUS_LABELS = {"ok": "Within the limit", "warning": "80% or more of the limit", "over": "Over the limit"}


@requires_role(Role.MANAGER)
@in_spa_timezone
def gift_report_csv(request, spa_slug, year):
    spa = request.spa
    year = _checked_year(year)
    standings = selectors.recipient_year_totals(spa=spa, year=year)
    audit_record(spa=spa, action="gift.report_exported", detail={"year": year})

    def overrides(standing):
        return "; ".join(
            f"{gift.given_on.isoformat()} {selectors.money(gift.fair_market_value)} by "
            f"{gift.override_by.display_name if gift.override_by else '?'}: {gift.override_reason}"
            for gift in standing.overrides
        )

    rows = [
        [
            year,
            standing.name,
            standing.role_label,
            standing.practice.name,
            standing.gift_count,
            f"{standing.total:.2f}",
            f"{standing.limit.amount:.2f}",
            standing.percent if standing.percent is not None else "",
            STATUS_LABELS[standing.state],
            overrides(standing),
        ]
        for standing in standings
    ]
    return csv_response(f"{spa.slug}-gifts-{year}.csv", REPORT_HEADER, rows)


# --- the yearly limits -----------------------------------------------------------------------------


@require_GET
def gift_limits(request, spa_slug):
    spa = request.spa
    context = {"limits": selectors.limit_years(spa=spa, today=spa_today(spa)), "can_edit": _is_owner(request)}
    return render(request, "outreach/gifts/limits.html", context)


@requires_role(Role.OWNER)
def gift_limit_edit(request, spa_slug, year):
    spa = request.spa
    year = _checked_year(year)
    current = selectors.gift_limit_for(spa=spa, year=year)
    if request.method == "POST" and request.POST.get("action") == "reset":
        services.gift_limit_clear(spa=spa, year=year, actor=request.user)
        messages.success(
            request,
            _("Your own figure for %(year)s is removed; %(note)s")
            % {"year": year, "note": selectors.gift_limit_for(spa=spa, year=year).note},
        )
        return redirect("outreach:gift_limits", spa_slug=spa.slug)
    form = GiftLimitForm(request.POST or None, initial={"limit": f"{current.amount:.2f}"})
    if request.method == "POST" and form.is_valid():
        try:
            services.gift_limit_set(spa=spa, year=year, limit=form.cleaned_data["limit"], actor=request.user)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                _("The %(year)s limit is now %(amount)s per recipient.")
                % {"year": year, "amount": selectors.money(form.cleaned_data["limit"])},
            )
            return redirect("outreach:gift_limits", spa_slug=spa.slug)
    context = {"form": form, "year": year, "current": current}
    return render(request, "outreach/gifts/limit_form.html", context, status=400 if form.errors else 200)
