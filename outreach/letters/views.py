"""Outreach pages: letter templates, sending letters to practices, leave-behinds.

Staff may request leave-behinds and send letters; writing letter templates (what the spa says in
its name) needs a manager.
"""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.models import GeneratedDocument
from infra.text import download_filename
from partners.models import Practice
from spas.models import Role
from spas.tenancy import requires_role

from ..models import LetterBatch, LetterTemplate
from . import services
from .forms import LeaveBehindForm, LetterSendForm, LetterTemplateForm, PracticeFilterForm
from .placeholders import PLACEHOLDERS
from .selectors import recent_letter_sends

MAX_LISTED_PRACTICES = 500


def _placeholder_help():
    return [("{" + name + "}", help_text) for name, help_text in PLACEHOLDERS.items()]


def letter_template_list(request, spa_slug):
    templates = LetterTemplate.objects.filter(spa=request.spa)
    sends = recent_letter_sends(spa=request.spa)
    return render(request, "outreach/index.html", {"templates": templates, "sends": sends})


@requires_role(Role.MANAGER)
def letter_template_form(request, spa_slug, template_id=None):
    template = None
    if template_id is not None:
        template = get_object_or_404(LetterTemplate, spa=request.spa, public_id=template_id)
    form = LetterTemplateForm(request.POST or None, instance=template)
    if request.method == "POST":
        if form.is_valid():
            services.letter_template_save(spa=request.spa, template=form.instance, actor=request.user)
            messages.success(request, _("Letter “%(name)s” saved.") % {"name": form.instance.name})
            return redirect("outreach:index", spa_slug=spa_slug)
        status = 400
    else:
        status = 200
    context = {"form": form, "template": template, "placeholders": _placeholder_help()}
    return render(request, "outreach/template_form.html", context, status=status)


def _filtered_practices(spa, filters):
    practices = Practice.objects.filter(spa=spa).order_by("name", "id")
    if filters.is_valid():
        if filters.cleaned_data["specialty"]:
            practices = practices.filter(specialty=filters.cleaned_data["specialty"])
        if filters.cleaned_data["stage"]:
            practices = practices.filter(stage=filters.cleaned_data["stage"])
        if filters.cleaned_data["city"]:
            practices = practices.filter(city__iexact=filters.cleaned_data["city"].strip())
    return practices


def letter_send(request, spa_slug):
    filters = PracticeFilterForm(request.GET)
    practices = _filtered_practices(request.spa, filters)
    form = LetterSendForm(request.POST or None, spa=request.spa, practices=practices)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                batch = services.letter_batch_create(
                    spa=request.spa,
                    template=form.cleaned_data["template"],
                    practices=list(form.cleaned_data["practices"]),
                    requested_by=request.user,
                )
            except ValueError as error:
                form.add_error("practices", str(error))
            else:
                messages.success(
                    request,
                    _("%(count)s letters are being made; the progress shows below.")
                    % {"count": len(batch.practice_ids)},
                )
                return redirect("documents:list", spa_slug=spa_slug)
        status = 400
    listed = list(practices[:MAX_LISTED_PRACTICES])
    context = {
        "form": form,
        "filters": filters,
        "listed": listed,
        "has_templates": LetterTemplate.objects.filter(spa=request.spa).exists(),
        "selected": set(request.POST.getlist("practices")) if request.method == "POST" else None,
    }
    return render(request, "outreach/send.html", context, status=status)


def batch_detail(request, spa_slug, batch_id):
    batch = get_object_or_404(
        LetterBatch.objects.select_related("template", "document"), spa=request.spa, public_id=batch_id
    )
    parts = (
        GeneratedDocument.objects.filter(spa=request.spa, batch=batch.document).order_by("id") if batch.document else []
    )
    return render(request, "outreach/batch_detail.html", {"batch": batch, "parts": parts})


def batch_part_download(request, spa_slug, batch_id, part_id):
    batch = get_object_or_404(LetterBatch, spa=request.spa, public_id=batch_id)
    part = get_object_or_404(GeneratedDocument, spa=request.spa, batch=batch.document_id, public_id=part_id)
    if part.status != GeneratedDocument.Status.READY or not part.file:
        raise Http404("Not ready.")
    audit_record(spa=request.spa, action="document.downloaded", obj=part)
    response = FileResponse(
        part.file.open("rb"),
        as_attachment=True,
        filename=download_filename(part.title, "pdf"),
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def leave_behind(request, spa_slug):
    # ?specialty=…&practice=… pre-fill the form, so a practice's page can link straight here.
    initial = {"specialty": request.GET.get("specialty"), "practice": request.GET.get("practice")}
    form = LeaveBehindForm(request.POST or None, spa=request.spa, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            document = services.leave_behind_request(
                spa=request.spa,
                specialty=form.cleaned_data["specialty"],
                practice=form.cleaned_data["practice"],
                paper=form.cleaned_data["paper"],
                requested_by=request.user,
            )
            messages.success(request, _("“%(title)s” is on its way.") % {"title": document.title})
            return redirect("documents:list", spa_slug=spa_slug)
        return render(request, "outreach/leave_behind.html", {"form": form}, status=400)
    return render(request, "outreach/leave_behind.html", {"form": form})
