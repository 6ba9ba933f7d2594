"""Campaign pages: the list, a new campaign (segment with a live preview, steps), its page, launch and stop.

Anyone on the team may look at campaigns and print their letters; creating, editing, launching, stopping
and removing practices needs a manager. Dates show on the spa's wall clock.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from referrals.views import in_spa_timezone
from spas.models import Role
from spas.tenancy import requires_role

from ..activity.selectors import spa_today
from ..letters.services import letter_batch_create
from ..models import Campaign, CampaignEnrollment, TaskKind
from . import selectors, services
from .forms import CampaignDetailsForm, CampaignForm, SegmentForm, step_formset

LIST_PAGE_SIZE = 25
PRACTICE_PAGE_SIZE = 50


def _campaign_or_404(request, campaign_id):
    return get_object_or_404(
        Campaign.objects.select_related("owner", "created_by"), spa=request.spa, public_id=campaign_id
    )


def _status_tabs():
    return [("", _("All")), *((value, label) for value, label in Campaign.Status.choices)]


@in_spa_timezone
def campaign_list(request, spa_slug):
    status = request.GET.get("status", "")
    if status not in Campaign.Status.values:
        status = ""
    page = Paginator(selectors.campaign_list(spa=request.spa, status=status or None), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [{"campaign": campaign, "percent": selectors.campaign_percent(campaign)} for campaign in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "status_tabs": _status_tabs(),
        "query_string": f"status={status}" if status else "",
        "can_manage": request.membership.has_role(Role.MANAGER),
    }
    return render(request, "outreach/campaigns/list.html", context)


# --- the form ----------------------------------------------------------------------------------------


def _apply_service_error(error, form, step_errors):
    """Put a service's ValidationError beside what it is about: the segment, the steps or a field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages_ in error.message_dict.items():
        if field == "steps":
            step_errors.extend(messages_)
        elif field in form.fields:
            form.add_error(field, messages_)
        else:  # "segment" and anything else: shown in the segment's box
            form.add_error(None, messages_)


def _render_form(request, *, form, formset, campaign=None, step_errors=(), status=200):
    context = {
        "form": form,
        "formset": formset,
        "campaign": campaign,
        "step_errors": list(step_errors),
        "preview": selectors.segment_preview(spa=request.spa, segment=_segment_of(form, campaign)),
        "has_letters": selectors.letter_templates(spa=request.spa).exists(),
        "max_steps": services.MAX_STEPS,
    }
    return render(request, "outreach/campaigns/form.html", context, status=status)


def _segment_of(form, campaign):
    if form.is_bound and hasattr(form, "cleaned_data"):
        return form.segment()
    if form.is_bound:
        return {name: form.data.get(name, "") for name in form.SEGMENT_FIELDS}
    if campaign is not None:
        return campaign.segment
    return {name: form.initial.get(name, "") for name in form.SEGMENT_FIELDS}


def _add_step(request, campaign):
    """ "Add a step": show what was typed with one blank step more; nothing is saved or validated."""
    formset = step_formset(spa=request.spa, data=request.POST, add_row=True)
    if request.htmx:
        return render(
            request,
            "outreach/campaigns/_steps.html",
            {"formset": formset, "has_letters": selectors.letter_templates(spa=request.spa).exists()},
        )
    initial = {
        name: request.POST.get(name, "") for name in ("name", "description", "owner", *CampaignForm.SEGMENT_FIELDS)
    }
    form = CampaignForm(initial=initial, instance=campaign, spa=request.spa)
    return _render_form(request, form=form, formset=formset, campaign=campaign)


def _campaign_form(request, campaign=None):
    spa = request.spa
    if request.method != "POST":
        form = CampaignForm(instance=campaign, spa=spa)
        return _render_form(request, form=form, formset=step_formset(spa=spa, campaign=campaign), campaign=campaign)
    if "add_step" in request.POST:
        return _add_step(request, campaign)
    form = CampaignForm(request.POST, instance=campaign, spa=spa)
    formset = step_formset(spa=spa, data=request.POST)
    launch = request.POST.get("action") == "launch"
    step_errors = []
    if form.is_valid() and formset.is_valid():
        try:
            saved = services.campaign_save(
                spa=spa,
                actor=request.user,
                campaign=campaign,
                fields={name: form.cleaned_data[name] for name in ("name", "description", "owner")},
                segment=form.segment(),
                steps=formset.steps(),
                launch=launch,
            )
        except ValidationError as error:
            _apply_service_error(error, form, step_errors)
        else:
            if launch:
                count = saved.enrollments.count()
                messages.success(
                    request,
                    ngettext(
                        "“%(name)s” is running: %(count)s practice enrolled, its first task is on My day.",
                        "“%(name)s” is running: %(count)s practices enrolled, their first tasks are on My day.",
                        count,
                    )
                    % {"name": saved.name, "count": count},
                )
            else:
                messages.success(
                    request, _("Draft “%(name)s” saved. Launch it when it is ready.") % {"name": saved.name}
                )
            return redirect("outreach:campaign_detail", spa_slug=spa.slug, campaign_id=saved.public_id)
    step_errors = list(formset.non_form_errors()) + step_errors
    if campaign is not None:
        campaign.refresh_from_db()
    return _render_form(request, form=form, formset=formset, campaign=campaign, step_errors=step_errors, status=400)


@requires_role(Role.MANAGER)
def campaign_create(request, spa_slug):
    return _campaign_form(request)


@requires_role(Role.MANAGER)
def campaign_edit(request, spa_slug, campaign_id):
    campaign = _campaign_or_404(request, campaign_id)
    if campaign.status == Campaign.Status.DRAFT:
        return _campaign_form(request, campaign)
    # Launched: the practices and steps are fixed; the name, goal and assignee may change.
    form = CampaignDetailsForm(request.POST or None, instance=campaign, spa=request.spa)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.campaign_update(
                    campaign=campaign,
                    actor=request.user,
                    fields={name: form.cleaned_data[name] for name in ("name", "description", "owner")},
                )
            except ValidationError as error:
                _apply_service_error(error, form, [])
            else:
                messages.success(request, _("Saved."))
                return redirect("outreach:campaign_detail", spa_slug=spa_slug, campaign_id=campaign.public_id)
        campaign.refresh_from_db()
        status = 400
    else:
        status = 200
    return render(request, "outreach/campaigns/details_form.html", {"form": form, "campaign": campaign}, status=status)


@require_GET
@requires_role(Role.MANAGER)
def campaign_preview(request, spa_slug):
    """The live segment preview (htmx): how many practices match, and the first of them."""
    form = SegmentForm(request.GET, spa=request.spa)
    if not form.is_valid():
        context = {"invalid": True}
        return render(request, "outreach/campaigns/_segment_preview.html", context, status=400)
    preview = selectors.segment_preview(spa=request.spa, segment=form.cleaned_data)
    return render(request, "outreach/campaigns/_segment_preview.html", {"preview": preview})


# --- a campaign's page -----------------------------------------------------------------------------------


def _render_detail(request, campaign, *, status=200, launch_errors=()):
    spa = request.spa
    steps = list(campaign.steps.select_related("letter_template").order_by("position"))
    overview = selectors.campaign_overview(campaign=campaign, step_count=len(steps))
    page = Paginator(selectors.campaign_enrollments(campaign=campaign), PRACTICE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    enrollments = list(page.object_list)
    letters = selectors.campaign_letters(
        campaign=campaign, practices=[row.practice for row in enrollments], steps=steps
    )
    step_count = len(steps)
    rows = []
    for enrollment in enrollments:
        task = enrollment.open_tasks[0] if enrollment.open_tasks else None
        rows.append(
            {
                "enrollment": enrollment,
                "practice": enrollment.practice,
                "task": task,
                "letter": letters.get(str(enrollment.practice.public_id)),
                "percent": selectors.progress_percent(enrollment.steps_done, step_count),
            }
        )
    is_draft = campaign.status == Campaign.Status.DRAFT
    results = selectors.campaign_results(campaign=campaign)
    targeted = overview["practices"]
    context = {
        "campaign": campaign,
        "steps": steps,
        "has_letter_step": any(step.kind == TaskKind.LETTER for step in steps),
        "overview": overview,
        "results": results,
        "practice_bars": [
            (_("Practices targeted"), targeted, 100 if targeted else 0),
            (
                _("Reached (any touchpoint)"),
                results["practices_reached"],
                selectors.progress_percent(results["practices_reached"], targeted),
            ),
            (
                _("Met (meeting or lunch presentation)"),
                results["practices_met"],
                selectors.progress_percent(results["practices_met"], targeted),
            ),
            (
                _("Won (now active partners)"),
                results["partners_won"],
                selectors.progress_percent(results["partners_won"], targeted),
            ),
            (
                _("Referring (sent a referral)"),
                results["practices_referring"],
                selectors.progress_percent(results["practices_referring"], targeted),
            ),
        ],
        "funnel": []
        if is_draft
        else selectors.campaign_step_funnel(campaign=campaign, steps=steps, practices=targeted),
        "page": page,
        "rows": rows,
        "preview": selectors.segment_preview(spa=spa, segment=campaign.segment) if is_draft else None,
        "segment_text": selectors.segment_description(campaign.segment),
        "stopped": campaign.status == Campaign.Status.FINISHED and selectors.campaign_was_stopped(campaign),
        "can_manage": request.membership.has_role(Role.MANAGER),
        "launch_errors": list(launch_errors),
        "today": spa_today(spa),
    }
    return render(request, "outreach/campaigns/detail.html", context, status=status)


@in_spa_timezone
def campaign_detail(request, spa_slug, campaign_id):
    return _render_detail(request, _campaign_or_404(request, campaign_id))


@require_POST
@requires_role(Role.MANAGER)
@in_spa_timezone
def campaign_launch(request, spa_slug, campaign_id):
    campaign = _campaign_or_404(request, campaign_id)
    try:
        services.campaign_launch(campaign=campaign, actor=request.user)
    except ValidationError as error:
        campaign.refresh_from_db()
        return _render_detail(request, campaign, status=400, launch_errors=error.messages)
    count = campaign.enrollments.count()
    messages.success(
        request,
        ngettext(
            "Launched: %(count)s practice enrolled, its first task is on My day.",
            "Launched: %(count)s practices enrolled, their first tasks are on My day.",
            count,
        )
        % {"count": count},
    )
    return redirect("outreach:campaign_detail", spa_slug=spa_slug, campaign_id=campaign.public_id)


@require_POST
@requires_role(Role.MANAGER)
def campaign_stop(request, spa_slug, campaign_id):
    campaign = _campaign_or_404(request, campaign_id)
    try:
        services.campaign_stop(campaign=campaign, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Campaign stopped. Work already done is kept; its open tasks were removed."))
    return redirect("outreach:campaign_detail", spa_slug=spa_slug, campaign_id=campaign.public_id)


@require_POST
@requires_role(Role.MANAGER)
def campaign_delete(request, spa_slug, campaign_id):
    campaign = _campaign_or_404(request, campaign_id)
    try:
        services.campaign_delete(campaign=campaign, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("outreach:campaign_detail", spa_slug=spa_slug, campaign_id=campaign.public_id)
    messages.success(request, _("Draft “%(name)s” deleted.") % {"name": campaign.name})
    return redirect("outreach:campaign_list", spa_slug=spa_slug)


@require_POST
@requires_role(Role.MANAGER)
def campaign_practice_remove(request, spa_slug, campaign_id, practice_id):
    campaign = _campaign_or_404(request, campaign_id)
    enrollment = get_object_or_404(
        CampaignEnrollment.objects.select_related("practice"),
        spa=request.spa,
        campaign=campaign,
        practice__public_id=practice_id,
    )
    try:
        services.campaign_enrollment_remove(enrollment=enrollment, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(practice)s was taken out of the campaign; its open campaign tasks were removed.")
            % {"practice": enrollment.practice.name},
        )
    return redirect("outreach:campaign_detail", spa_slug=spa_slug, campaign_id=campaign.public_id)


@require_POST
def campaign_letters_print(request, spa_slug, campaign_id):
    """All the letters waiting to be sent in this campaign, in one PDF per letter template."""
    campaign = _campaign_or_404(request, campaign_id)
    groups = selectors.campaign_current_letter_practices(campaign=campaign)
    if not groups:
        messages.info(request, _("No letter is waiting to be sent in this campaign."))
        return redirect("outreach:campaign_detail", spa_slug=spa_slug, campaign_id=campaign.public_id)
    count = 0
    for template, practices in groups:
        batch = letter_batch_create(spa=request.spa, template=template, practices=practices, requested_by=request.user)
        count += len(batch.practice_ids)
    messages.success(
        request,
        ngettext(
            "%(count)s letter is being put together for printing; the progress shows below.",
            "%(count)s letters are being put together for printing; the progress shows below.",
            count,
        )
        % {"count": count},
    )
    return redirect("documents:list", spa_slug=spa_slug)
