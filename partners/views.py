"""Practice pages: the pipeline list and board, one practice's page, its clinicians and contacts, merges."""

import json
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error
from infra.toasts import add_trigger, with_toast
from spas.catalog import talking_points_for
from spas.models import Role
from spas.tenancy import requires_role

from . import extensions, panels, selectors, services
from .duplicates import practice_duplicates
from .forms import (
    DECLINE_REASONS,
    ClinicianForm,
    MergeForm,
    OfficeContactForm,
    PracticeFilter,
    PracticeForm,
    StageMoveForm,
    StageUndoForm,
)
from .models import Clinician, OfficeContact, Practice, Stage

PAGE_SIZE = 50


def _duplicates_of(spa, practice):
    fields = {name: getattr(practice, name) for name in ("name", "city", "npi", "phone", "website")}
    return practice_duplicates(spa=spa, fields=fields, exclude=practice)


def _practice_or_404(request, practice_id):
    return get_object_or_404(Practice.objects.select_related("owner"), spa=request.spa, public_id=practice_id)


# The list's sortable columns: (sort key, label, first click sorts descending). A note under a label says more.
LIST_COLUMN_NOTES = {"referrals_90d": gettext_lazy("last 3 months")}
LIST_COLUMNS = [
    ("name", gettext_lazy("Practice"), False),
    ("stage", gettext_lazy("Stage"), False),
    ("last_contact", gettext_lazy("Last contact"), False),
    ("next_task", gettext_lazy("Next task due"), False),
    ("referrals_90d", gettext_lazy("Referrals"), True),
    ("health", gettext_lazy("Health"), False),
    ("owner", gettext_lazy("Owner"), False),
]


def _sort_headers(request, sort, descending):
    """Each sortable column's header: its label, its aria-sort and the address its click goes to."""
    query = request.GET.copy()
    for name in ("page", "sort"):
        query.pop(name, None)
    headers = []
    for key, label, descending_first in LIST_COLUMNS:
        active = key == sort
        next_descending = not descending if active else descending_first
        query["sort"] = f"-{key}" if next_descending else key
        headers.append(
            {
                "key": key,
                "label": label,
                "note": LIST_COLUMN_NOTES.get(key, ""),
                "aria_sort": ("descending" if descending else "ascending") if active else "none",
                "url": "?" + query.urlencode(),
            }
        )
    return headers


def practice_list(request, spa_slug):
    spa = request.spa
    sort, descending = selectors.list_sort(request.GET.get("sort"))
    practice_filter = PracticeFilter(
        request.GET or None,
        queryset=selectors.practice_list(spa=spa, sort=sort, descending=descending),
        spa=spa,
    )
    page = Paginator(practice_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    # Figures worked out in Python (health) for this page's rows only, in a fixed number of queries.
    page.object_list = extensions.decorate(page.object_list, spa=spa)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": practice_filter,
        "page": page,
        "query_string": query.urlencode(),
        "is_filtered": any(value for key, value in request.GET.items() if key not in ("page", "sort")),
        "tags": selectors.spa_tags(spa=spa),
        "total": page.paginator.count,
        "sort": f"-{sort}" if descending else sort,
        "sort_headers": _sort_headers(request, sort, descending),
        "today": timezone.localdate(),  # the spa's (tenancy middleware)
    }
    template = "partners/partials/practice_table.html" if request.htmx else "partners/practice_list.html"
    return render(request, template, context)


def _render_board(request, filter_data, *, partial):
    spa = request.spa
    practice_filter = PracticeFilter(filter_data or None, queryset=Practice.objects.filter(spa=spa), spa=spa)
    columns = selectors.practice_board(spa=spa, queryset=practice_filter.qs)
    context = {
        "columns": columns,
        "filter": practice_filter,
        # Plain strings: each of up to 320 cards draws this menu, and lazy labels translate on every use.
        "stage_choices": [(value, str(label)) for value, label in Stage.choices],
        "cards_per_stage": selectors.BOARD_CARDS_PER_STAGE,
        "decline_reasons": [str(reason) for reason in DECLINE_REASONS],
        "today": timezone.localdate(),  # the spa's (tenancy middleware)
    }
    template = "partners/partials/board.html" if partial else "partners/board.html"
    return render(request, template, context)


def practice_board(request, spa_slug):
    return _render_board(request, request.GET, partial=bool(request.htmx))


def practice_create(request, spa_slug):
    spa = request.spa
    form = PracticeForm(request.POST or None, spa=spa, show_duplicate_confirmation=request.method == "POST")
    duplicates = []
    if request.method == "POST" and form.is_valid():
        duplicates = practice_duplicates(spa=spa, fields=form.cleaned_data)
        if duplicates and not form.cleaned_data.get("confirm_not_duplicate"):
            messages.warning(request, _("This looks like a practice you already have. Check the matches below."))
        else:
            try:
                practice = services.practice_create(
                    spa=spa,
                    actor=request.user,
                    fields=form.practice_fields(),
                    tag_names=form.cleaned_data["tags"],
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, _("%(name)s added to your pipeline.") % {"name": practice.name})
                return redirect("partners:detail", spa_slug=spa.slug, practice_id=practice.public_id)
    if not duplicates and "confirm_not_duplicate" in form.fields:
        del form.fields["confirm_not_duplicate"]
    status = 400 if form.errors else 200
    return render(request, "partners/practice_form.html", {"form": form, "duplicates": duplicates}, status=status)


def practice_edit(request, spa_slug, practice_id):
    practice = _practice_or_404(request, practice_id)
    form = PracticeForm(request.POST or None, instance=practice, spa=request.spa)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.practice_update(
                    practice=practice,
                    actor=request.user,
                    fields=form.practice_fields(),
                    tag_names=form.cleaned_data["tags"],
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)
        practice.refresh_from_db()
    duplicates = _duplicates_of(request.spa, practice)
    return render(
        request,
        "partners/practice_form.html",
        {"form": form, "practice": practice, "duplicates": duplicates},
        status=400 if form.errors else 200,
    )


def practice_detail(request, spa_slug, practice_id):
    practice = selectors.practice_detail(spa=request.spa, public_id=practice_id)
    if practice is None:
        raise Http404("No such practice.")
    talking_points = next(
        (row.talking_points for row in talking_points_for(spa=request.spa) if row.specialty == practice.specialty), ""
    )
    context = {
        "practice": practice,
        "stage_form": StageMoveForm(initial={"stage": practice.stage}),
        "talking_points": talking_points,
        "duplicates": _duplicates_of(request.spa, practice),
        "clinician_form": ClinicianForm(spa=request.spa),
        "contact_form": OfficeContactForm(spa=request.spa),
        # The referrals, outreach, portal and pad panels: their apps register them (partners/panels.py).
        "panels": panels.panels(),
    }
    return render(request, "partners/practice_detail.html", context)


@require_POST
def practice_move_stage(request, spa_slug, practice_id):
    """Move a card. htmx callers get the updated board (or stage panel) back; others a redirect."""
    practice = _practice_or_404(request, practice_id)
    previous = practice.stage
    form = StageMoveForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.practice_move_stage(
                practice=practice,
                to_stage=form.cleaned_data["stage"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ValidationError as validation_error:
            error = " ".join(validation_error.messages)
    elif "stage" in form.errors:
        error = _("Choose a valid stage.")
    else:
        error = " ".join(message for messages_ in form.errors.values() for message in messages_)
    if request.htmx and request.POST.get("from") == "board":
        # Redraw the board as the user was looking at it: same filters as the page's address.
        # (Filter values are validated like any query string; a foreign header can only filter this board.)
        filters = QueryDict(urlsplit(request.htmx.current_url or "").query)
        response = _render_board(request, filters, partial=True)
        if error:
            response["HX-Trigger"] = json.dumps({"showMessage": error})
        elif previous != form.cleaned_data["stage"]:
            moved_to = form.cleaned_data["stage"]
            undo_url = (
                reverse("partners:move_stage_undo", args=[spa_slug, practice.public_id])
                + "?"
                + urlencode({"stage": previous, "moved_to": moved_to})
            )
            message = _("%(name)s moved to %(stage)s.") % {"name": practice.name, "stage": Stage(moved_to).label}
            with_toast(response, message, undo_url=undo_url)
        return response
    if error:
        messages.error(request, error)
    else:
        practice.refresh_from_db()
        messages.success(
            request, _("%(name)s moved to %(stage)s.") % {"name": practice.name, "stage": practice.get_stage_display()}
        )
    if request.POST.get("from") == "board":
        return redirect("partners:board", spa_slug=spa_slug)
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)


@require_POST
def practice_move_stage_undo(request, spa_slug, practice_id):
    """A board move's Undo (its toast posts here): the practice goes back to the stage it left, if it is still
    where the move put it. Back to Declined takes the reason it was declined for before."""
    practice = _practice_or_404(request, practice_id)
    form = StageUndoForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose a valid stage."))
    back_to = form.cleaned_data["stage"]
    if practice.stage != form.cleaned_data["moved_to"]:
        message = _("%(name)s has moved since; nothing was undone.") % {"name": practice.name}
        return add_trigger(HttpResponse(status=409), "showToast", {"message": message, "level": "warning"})
    reason = selectors.last_declined_reason(practice=practice) if back_to == Stage.DECLINED else ""
    try:
        services.practice_move_stage(practice=practice, to_stage=back_to, reason=reason, actor=request.user)
    except ValidationError as error:
        message = " ".join(error.messages)
        return add_trigger(HttpResponse(status=409), "showToast", {"message": message, "level": "warning"})
    messages.success(
        request, _("Undone: %(name)s is back in %(stage)s.") % {"name": practice.name, "stage": Stage(back_to).label}
    )
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("partners:board", spa_slug=spa_slug)


def _child_form_view(request, *, practice, form_class, instance, save, template, label, delete_url_name):
    form = form_class(request.POST or None, instance=instance, spa=request.spa)
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("%(label)s saved.") % {"label": label})
            return redirect("partners:detail", spa_slug=request.spa.slug, practice_id=practice.public_id)
    if instance is not None and form.errors:
        instance.refresh_from_db()
    delete_url = None
    if instance is not None:
        delete_url = reverse(delete_url_name, args=[request.spa.slug, practice.public_id, instance.public_id])
    context = {"form": form, "practice": practice, "instance": instance, "label": label, "delete_url": delete_url}
    return render(request, template, context, status=400 if form.errors else 200)


def clinician_form(request, spa_slug, practice_id, clinician_id=None):
    practice = _practice_or_404(request, practice_id)
    clinician = None
    if clinician_id is not None:
        clinician = get_object_or_404(Clinician, spa=request.spa, practice=practice, public_id=clinician_id)

    def save(data):
        services.clinician_save(practice=practice, clinician=clinician, fields=data, actor=request.user)

    return _child_form_view(
        request,
        practice=practice,
        form_class=ClinicianForm,
        instance=clinician,
        save=save,
        template="partners/child_form.html",
        label=_("Clinician"),
        delete_url_name="partners:clinician_delete",
    )


@require_POST
def clinician_delete(request, spa_slug, practice_id, clinician_id):
    practice = _practice_or_404(request, practice_id)
    clinician = get_object_or_404(Clinician, spa=request.spa, practice=practice, public_id=clinician_id)
    services.clinician_delete(clinician=clinician, actor=request.user)
    messages.success(request, _("%(name)s removed.") % {"name": clinician.display_name})
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)


def contact_form(request, spa_slug, practice_id, contact_id=None):
    practice = _practice_or_404(request, practice_id)
    contact = None
    if contact_id is not None:
        contact = get_object_or_404(OfficeContact, spa=request.spa, practice=practice, public_id=contact_id)

    def save(data):
        services.contact_save(practice=practice, contact=contact, fields=data, actor=request.user)

    return _child_form_view(
        request,
        practice=practice,
        form_class=OfficeContactForm,
        instance=contact,
        save=save,
        template="partners/child_form.html",
        label=_("Office contact"),
        delete_url_name="partners:contact_delete",
    )


@require_POST
def contact_delete(request, spa_slug, practice_id, contact_id):
    practice = _practice_or_404(request, practice_id)
    contact = get_object_or_404(OfficeContact, spa=request.spa, practice=practice, public_id=contact_id)
    services.contact_delete(contact=contact, actor=request.user)
    messages.success(request, _("%(name)s removed.") % {"name": contact.name})
    return redirect("partners:detail", spa_slug=spa_slug, practice_id=practice.public_id)


@requires_role(Role.MANAGER)
def practice_merge(request, spa_slug, practice_id):
    """Merge another practice (a duplicate) into this one, which survives."""
    survivor = _practice_or_404(request, practice_id)
    form = MergeForm(request.POST or request.GET or None)
    other = None
    if form.is_bound and form.is_valid():
        other = Practice.objects.filter(spa=request.spa, public_id=form.cleaned_data["other"]).first()
        if other is None or other.pk == survivor.pk:
            form.add_error("other", _("Choose another practice of this spa."))
            other = None
    if request.method == "POST" and other is not None:
        try:
            services.practice_merge(survivor=survivor, merged=other, actor=request.user)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, _("%(other)s was merged into %(name)s.") % {"other": other.name, "name": survivor.name}
            )
            return redirect("partners:detail", spa_slug=spa_slug, practice_id=survivor.public_id)
    candidates = _duplicates_of(request.spa, survivor)
    context = {"practice": survivor, "other": other, "form": form, "candidates": candidates}
    return render(request, "partners/merge.html", context, status=400 if form.errors else 200)
