"""The documents page: every generated PDF with its status (live while rendering), download, regenerate."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra import documents
from infra.audit import audit_record
from infra.models import GeneratedDocument
from infra.text import download_filename

from .document_forms import DocumentFilterForm

PAGE_SIZE = 30
PENDING = (GeneratedDocument.Status.QUEUED, GeneratedDocument.Status.RENDERING)


def _document_or_404(request, document_id):
    return get_object_or_404(GeneratedDocument, spa=request.spa, public_id=document_id, batch=None)


def document_list(request, spa_slug):
    filters = DocumentFilterForm(request.GET or None, spa=request.spa)
    queryset = filters.apply(GeneratedDocument.objects.filter(spa=request.spa, batch=None)).select_related(
        "requested_by"
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "document": document,
            "stale": document.status == GeneratedDocument.Status.READY and documents.is_stale(document),
        }
        for document in page.object_list
    ]
    context = {
        "page": page,
        "rows": rows,
        "pending": any(row["document"].status in PENDING for row in rows),
        "filters": filters,
        "filtered": filters.is_bound and filters.is_valid() and any(filters.cleaned_data.values()),
        "query": filters.query_string(),
        "creators": documents.creators_for(spa_slug),
    }
    template = "documents/partials/table.html" if request.htmx else "documents/list.html"
    return render(request, template, context)


def document_download(request, spa_slug, document_id):
    document = _document_or_404(request, document_id)
    if document.status != GeneratedDocument.Status.READY or not document.file:
        raise Http404("Not ready.")
    audit_record(spa=request.spa, action="document.downloaded", obj=document)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=download_filename(document.title, "pdf"),
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def document_thumbnail(request, spa_slug, document_id):
    document = _document_or_404(request, document_id)
    if not document.thumbnail:
        raise Http404("No preview.")
    response = FileResponse(document.thumbnail.open("rb"), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_POST
def document_regenerate(request, spa_slug, document_id):
    document = _document_or_404(request, document_id)
    source = documents.load_source(document)
    if source is None or document.kind not in documents.KINDS:
        messages.error(request, _("The source of this document no longer exists, so it cannot be made again."))
        return redirect("documents:list", spa_slug=spa_slug)
    fresh = documents.document_request(
        spa=request.spa,
        kind=document.kind,
        source=source,
        options=document.options,
        requested_by=request.user,
        force=not documents.is_stale(document, source),
    )
    messages.success(request, _("“%(title)s” is being made again.") % {"title": fresh.title})
    return redirect("documents:list", spa_slug=spa_slug)
