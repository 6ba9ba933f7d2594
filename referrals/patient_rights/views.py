"""The patient-rights page of one referral: find the patient's other referrals, export everything about them
(JSON or a readable PDF), or erase their health information. Mounted under
/s/<spa_slug>/referrals/<referral_id>/patient/ (namespace "patient_rights").

Managers and owners export; only owners erase. Every referral listed, exported or erased is audited.
"""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from infra.forms import apply_validation_error
from infra.pdf import render_template_to_pdf
from spas.models import Role
from spas.tenancy import requires_role

from ..services import referral_record_view
from ..views import in_spa_timezone, referral_or_404
from .forms import PatientEraseForm, PatientSelectionForm
from .selectors import patient_matches
from .services import patient_erase, patient_export

EXPORT_FORMATS = {"json", "pdf"}


def _page(request, referral, matches, *, selection=None, erase_form=None, status=200):
    selection = selection or PatientSelectionForm(matches=matches)
    erase_form = erase_form or PatientEraseForm(matches=matches, auto_id="erase_%s")
    for match, _reason in matches:
        referral_record_view(referral=match, actor=request.user, channel="patient_rights")
    context = {
        "referral": referral,
        "rows": (erase_form if erase_form.is_bound else selection).rows(),
        "selection": selection,
        "erase_form": erase_form,
        "can_erase": request.membership.has_role(Role.OWNER),
    }
    return render(request, "referrals/patient_rights.html", context, status=status)


@require_GET
@requires_role(Role.MANAGER)
@in_spa_timezone
def patient_rights(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    return _page(request, referral, patient_matches(spa=request.spa, referral=referral))


def _no_store(response):
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@requires_role(Role.MANAGER)
@in_spa_timezone
def patient_export_view(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    matches = patient_matches(spa=request.spa, referral=referral)
    form = PatientSelectionForm(request.POST, matches=matches)
    export_format = request.POST.get("format")
    if export_format not in EXPORT_FORMATS:
        form.add_error(None, _("Choose JSON or PDF."))
    if not form.is_valid():
        return _page(request, referral, matches, selection=form, status=400)
    data = patient_export(
        spa=request.spa,
        referrals=form.cleaned_data["referrals"],
        actor=request.user,
        export_format=export_format,
    )
    stamp = timezone.localdate().isoformat()
    if export_format == "json":
        response = HttpResponse(
            json.dumps(data, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="patient-export-{stamp}.json"'
        return _no_store(response)
    rendered = render_template_to_pdf(
        "documents/patient_export.html", {"spa": request.spa, "data": data}, time_limit=120
    )
    response = HttpResponse(rendered.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="patient-export-{stamp}.pdf"'
    return _no_store(response)


@require_POST
@requires_role(Role.OWNER)
@in_spa_timezone
def patient_erase_view(request, spa_slug, referral_id):
    referral = referral_or_404(request, referral_id)
    matches = patient_matches(spa=request.spa, referral=referral)
    form = PatientEraseForm(request.POST, matches=matches, auto_id="erase_%s")
    if form.is_valid():
        try:
            erased = patient_erase(
                spa=request.spa,
                referrals=form.cleaned_data["referrals"],
                actor=request.user,
                request_channel=form.cleaned_data["request_channel"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "The patient's health information was erased from %(count)s referral.",
                    "The patient's health information was erased from %(count)s referrals.",
                    erased,
                )
                % {"count": erased},
            )
            return redirect("referrals:detail", spa_slug=spa_slug, referral_id=referral.public_id)
    return _page(request, referral, matches, erase_form=form, status=400)
