"""Small readers of pages and rows shared by the partners tests."""

import html
import re

from django.urls import reverse
from django_scopes import scope, scopes_disabled

from partners import services
from partners.models import Practice

from ..factories import ClinicianFactory, OfficeContactFactory, PracticeFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, spa, *args, query=""):
    path = reverse(f"partners:{name}", args=[spa.slug, *args])
    return f"{path}?{query}" if query else path


def page_text(response):
    return response.content.decode()


def field_error(response, field):
    """The error shown beside ``field`` (the markup forms/field.html draws), or None."""
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="id_{field}_error"[^>]*>(.*?)</div>', page_text(response), re.S
    )
    return html.unescape(match.group(1)) if match else None


def messages_on(response):
    return [
        html.unescape(re.sub(r"\s+", " ", message).strip())
        for message in re.findall(r'<div class="alert[^"]*" role="alert">\s*(.*?)\s*<button', page_text(response), re.S)
    ]


def listed_practices(response):
    """Practice names in the list table, in order."""
    table = (
        page_text(response).split("<tbody>", 1)[-1].split("</tbody>", 1)[0] if "<tbody>" in page_text(response) else ""
    )
    return [html.unescape(name) for name in re.findall(r'<a class="fw-semibold" href="[^"]+">([^<]+)</a>', table)]


def board_columns(response):
    """{stage: (count shown, [card names])} from the board."""
    columns = {}
    for stage, body in re.findall(
        r'<section class="board-column[^"]*"[^>]*data-stage="([a-z_]+)"[^>]*>(.*?)</section>', page_text(response), re.S
    ):
        count = int(re.search(r'<span class="badge text-bg-light border"[^>]*>(\d+)</span>', body).group(1))
        names = [
            html.unescape(name)
            for name in re.findall(r'<a class="fw-semibold d-block[^"]*" href="[^"]+">([^<]+)</a>', body)
        ]
        columns[stage] = (count, names)
    return columns


def reload(obj):
    with scopes_disabled():
        return type(obj).objects.get(pk=obj.pk)


def rows(model, **filters):
    with scopes_disabled():
        return list(model.objects.filter(**filters))


def count(model, **filters):
    with scopes_disabled():
        return model.objects.filter(**filters).count()


def make_practice(spa, *, actor=None, tags=(), **fields):
    """A practice made the way the app makes them: through the service (code, history row, tags)."""
    fields.setdefault("name", PracticeFactory.build().name)
    fields.setdefault("specialty", "dermatology")
    with scope(spa=spa):
        return services.practice_create(spa=spa, actor=actor, fields=fields, tag_names=list(tags))


def make_clinician(practice, **fields):
    with scope(spa=practice.spa):
        return ClinicianFactory(practice=practice, spa=practice.spa, **fields)


def make_contact(practice, **fields):
    with scope(spa=practice.spa):
        return OfficeContactFactory(practice=practice, spa=practice.spa, **fields)


def practice_named(spa, name):
    with scopes_disabled():
        return Practice.objects.get(spa=spa, name=name)
