"""CSV import (upload → map columns → preview with every error → commit) and CSV export."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.csv_export import csv_response
from infra.phones import format_phone
from spas.models import Role
from spas.tenancy import requires_role

from . import csv_import
from .forms import ImportMappingForm, ImportUploadForm
from .models import Clinician, Practice, PracticeImport, PracticeTag

PREVIEW_ROWS = 20


@requires_role(Role.MANAGER)
def import_upload(request, spa_slug):
    # Bound on every POST, even an empty one, so a missing file is an error rather than a blank form.
    posted = request.method == "POST"
    form = ImportUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text, header = csv_import.read_csv(upload.read(csv_import.MAX_UPLOAD_BYTES + 1))
        except csv_import.ImportFileError as error:
            form.add_error("file", str(error))
        else:
            practice_import = PracticeImport.objects.create(
                spa=request.spa,
                filename=upload.name[:255],
                content=text,
                created_by=request.user,
                mapping=csv_import.guess_mapping(header),
                row_count=len(csv_import.parse_csv_text(text)[1]),
            )
            return redirect("partners:import_review", spa_slug=spa_slug, import_id=practice_import.public_id)
    return render(request, "partners/import_upload.html", {"form": form}, status=400 if form.errors else 200)


@requires_role(Role.MANAGER)
def import_review(request, spa_slug, import_id):
    practice_import = get_object_or_404(PracticeImport, spa=request.spa, public_id=import_id)
    header, rows = csv_import.parse_csv_text(practice_import.content)
    committed = practice_import.status == PracticeImport.Status.COMMITTED
    form = ImportMappingForm(
        request.POST if request.method == "POST" else None,
        header=header,
        mapping=practice_import.mapping,
        skip_duplicates=practice_import.skip_duplicates,
    )
    if request.method == "POST" and committed:
        messages.error(request, _("This file was already imported."))
        return redirect("partners:import_review", spa_slug=spa_slug, import_id=practice_import.public_id)
    if request.method == "POST" and form.is_valid():
        practice_import.mapping = form.mapping()
        practice_import.skip_duplicates = form.cleaned_data["skip_duplicates"]
        practice_import.save(update_fields=["mapping", "skip_duplicates"])
        if request.POST.get("action") == "commit":
            try:
                result = csv_import.import_commit(practice_import=practice_import, actor=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    _("Imported %(practices)s practices and %(clinicians)s clinicians.")
                    % {"practices": len(result.drafts), "clinicians": result.clinician_count},
                )
                return redirect("partners:list", spa_slug=spa_slug)
        return redirect("partners:import_review", spa_slug=spa_slug, import_id=practice_import.public_id)
    check = None
    if not committed:
        check = csv_import.check_import(
            spa=request.spa,
            text=practice_import.content,
            mapping=practice_import.mapping,
            skip_duplicates=practice_import.skip_duplicates,
        )
    context = {
        "practice_import": practice_import,
        "form": form,
        "check": check,
        "errors_shown": check.errors[: csv_import.MAX_ERRORS_SHOWN] if check else [],
        "header": header,
        "preview_rows": rows[:PREVIEW_ROWS],
        "committed": committed,
    }
    return render(request, "partners/import_review.html", context, status=400 if form.errors else 200)


PRACTICE_EXPORT_HEADER = [
    "Practice name",
    "Specialty",
    "Address",
    "City",
    "Phone",
    "Fax",
    "Website",
    "NPI",
    "Size",
    "How identified",
    "Introduced by",
    "Stage",
    "Tags",
    "Owner",
    "Referral code",
    "Added",
]


@requires_role(Role.MANAGER)
def export_practices(request, spa_slug):
    practices = (
        Practice.objects.filter(spa=request.spa)
        .select_related("owner")
        .order_by("name", "pk")
        .prefetch_related(
            Prefetch("practice_tags", queryset=PracticeTag.objects.select_related("tag").order_by("tag__name")),
            "referral_codes",
        )
    )
    audit_record(spa=request.spa, action="practice.exported")

    # Rows are built here, inside the tenant scope; streaming starts after the view returns.
    def rows():
        for practice in practices:
            codes = [code.code for code in practice.referral_codes.all() if code.clinician_id is None]
            yield [
                practice.name,
                practice.get_specialty_display(),
                practice.address,
                practice.city,
                # As people read them (and as the import reads them back): "(617) 555-0123", not "+16175550123".
                format_phone(practice.phone, request.spa.country),
                format_phone(practice.fax, request.spa.country),
                practice.website,
                practice.npi,
                practice.get_size_display(),
                practice.get_source_display(),
                practice.introduced_by,
                practice.get_stage_display(),
                ", ".join(link.tag.name for link in practice.practice_tags.all()),
                practice.owner.email if practice.owner else "",
                ", ".join(codes),
                practice.created_at.date().isoformat(),
            ]

    return csv_response(f"{request.spa.slug}-practices.csv", PRACTICE_EXPORT_HEADER, list(rows()))


CLINICIAN_EXPORT_HEADER = [
    "Practice name",
    "City",
    "Clinician first name",
    "Clinician last name",
    "Clinician credentials",
    "Specialty",
    "Clinician email",
    "Clinician phone",
    "Clinician NPI",
    "Referral code",
]


@requires_role(Role.MANAGER)
def export_clinicians(request, spa_slug):
    clinicians = (
        Clinician.objects.filter(spa=request.spa)
        .select_related("practice")
        .prefetch_related("referral_codes")
        .order_by("practice__name", "last_name", "pk")
    )
    audit_record(spa=request.spa, action="clinician.exported")

    def rows():
        for clinician in clinicians:
            yield [
                clinician.practice.name,
                clinician.practice.city,
                clinician.first_name,
                clinician.last_name,
                clinician.credentials,
                # The import reads this column as the practice's specialty, so a blank one would not round-trip.
                clinician.get_specialty_display() or clinician.practice.get_specialty_display(),
                clinician.email,
                format_phone(clinician.phone, request.spa.country),
                clinician.npi,
                ", ".join(code.code for code in clinician.referral_codes.all()),
            ]

    return csv_response(f"{request.spa.slug}-clinicians.csv", CLINICIAN_EXPORT_HEADER, list(rows()))
