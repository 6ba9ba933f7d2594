"""The spa's drafts of referrals by email and text: the list, one draft, confirm (the pre-filled manual-entry form),
discard, and an attachment's download.

Mounted under /s/<spa_slug>/referrals/inbound/ (namespace ``inbound``): the workspace's tenancy middleware has
checked the membership; another spa's draft is the same 404 as a missing one. Every read of a draft's content and
every download is audited, like a referral's.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error

from ..attachments import file_download_response
from ..views import in_spa_timezone
from . import selectors, services
from .forms import DraftConfirmForm
from .models import InboundReferralDraft

PAGE_SIZE = 25
Status = InboundReferralDraft.Status


def _draft_or_404(request, draft_id):
    draft = selectors.draft_detail(spa=request.spa, public_id=draft_id)
    if draft is None:
        raise Http404("No such draft.")
    return draft


def _intake_context(spa):
    return {"inbound_address": selectors.inbound_address(spa), "inbound_sms_number": selectors.sms_number_of(spa)}


@in_spa_timezone
def draft_list(request, spa_slug):
    """The drafts to confirm (or, by tab, those confirmed or discarded), newest first."""
    spa = request.spa
    status = request.GET.get("status") or Status.PENDING
    if status not in Status.values:
        status = Status.PENDING
    page = Paginator(selectors.drafts(spa=spa, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.draft_counts(spa=spa)
    context = {
        "page": page,
        "status": status,
        "tabs": [(value, label, counts[value]) for value, label in Status.choices],
        **_intake_context(spa),
    }
    return render(request, "referrals/inbound/drafts.html", context)


def _decided_answer(request, draft):
    """A draft someone already confirmed or discarded (or a second click of the same button)."""
    if draft.status == Status.CONFIRMED and draft.referral_id:
        messages.info(request, _("This message was confirmed already: here is its referral."))
        return redirect("referrals:detail", spa_slug=request.spa.slug, referral_id=draft.referral.public_id)
    messages.info(request, _("This message was discarded already."))
    return redirect("inbound:detail", spa_slug=request.spa.slug, draft_id=draft.public_id)


@in_spa_timezone
def draft_detail(request, spa_slug, draft_id):
    draft = _draft_or_404(request, draft_id)
    if draft.content_erased_at is None:
        services.inbound_draft_record_view(draft=draft, actor=request.user)
    return render(request, "referrals/inbound/draft.html", {"draft": draft, **_intake_context(request.spa)})


@in_spa_timezone
def draft_confirm(request, spa_slug, draft_id):
    """The manual-entry form pre-filled from the draft; saving it makes the referral."""
    spa = request.spa
    draft = _draft_or_404(request, draft_id)
    if not draft.is_pending:
        return _decided_answer(request, draft)
    initial = DraftConfirmForm.initial_for(draft, spa=spa) if request.method != "POST" else {}
    form = DraftConfirmForm(request.POST or None, spa=spa, draft=draft, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.inbound_draft_confirm(
                draft=draft,
                actor=request.user,
                practice=data["practice"],
                clinician=data["clinician"],
                patient=form.patient(),
                details=form.details(),
                services=data["services"],
                attachment=data["attachment"],
                consent_to_contact=data["consent_to_contact"],
            )
        except services.DraftDecided as decided:
            return _decided_answer(request, decided.draft)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Referral saved from the message. The spa's team is told as for any new one."))
            return redirect("referrals:detail", spa_slug=spa.slug, referral_id=referral.public_id)
    if request.method != "POST":
        # The page shows the message beside the form: a read of its content, like the draft's own page. (A form
        # sent back with its errors shows what the audited GET showed already.)
        services.inbound_draft_record_view(draft=draft, actor=request.user)
    status = 400 if form.errors else 200
    return render(request, "referrals/inbound/confirm.html", {"form": form, "draft": draft}, status=status)


@require_POST
def draft_discard(request, spa_slug, draft_id):
    draft = _draft_or_404(request, draft_id)
    try:
        services.inbound_draft_discard(draft=draft, actor=request.user)
    except services.DraftDecided as decided:
        return _decided_answer(request, decided.draft)
    messages.success(request, _("Message discarded. Its text and attachments are deleted."))
    return redirect("inbound:list", spa_slug=spa_slug)


def draft_attachment(request, spa_slug, draft_id, attachment_id):
    """One of the draft's attachments as a download, for the spa's members only; every download is audited."""
    draft = _draft_or_404(request, draft_id)
    attachment = next((row for row in draft.attachments.all() if row.public_id == attachment_id), None)
    if attachment is None:
        raise Http404("No such attachment.")
    response = file_download_response(attachment.file, attachment.name, fallback="referral-attachment")
    services.inbound_draft_record_attachment_download(attachment=attachment, actor=request.user)
    return response
