"""Makers and readers shared by the outreach tests (touchpoints, tasks, campaigns, events, gifts…)."""

import html
import re

from django.urls import reverse
from django_scopes import scope, scopes_disabled

from ..factories import ClinicianFactory, OfficeContactFactory, PracticeFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, spa, *args, query=""):
    """``url("my_day", spa)`` → /s/<slug>/outreach/…; names are in the "outreach" namespace."""
    path = reverse(f"outreach:{name}", args=[spa.slug, *args])
    return f"{path}?{query}" if query else path


def page_text(response):
    return response.content.decode()


def field_error(response, field, prefix="id"):
    """The error shown beside ``field`` (the markup forms/field.html draws), or None."""
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="{prefix}_{field}_error"[^>]*>(.*?)</div>', page_text(response), re.S
    )
    return html.unescape(match.group(1)).strip() if match else None


def make_practice(spa, **fields):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, **fields)


def make_clinician(practice, **fields):
    with scope(spa=practice.spa):
        return ClinicianFactory(spa=practice.spa, practice=practice, **fields)


def make_contact(practice, **fields):
    with scope(spa=practice.spa):
        return OfficeContactFactory(spa=practice.spa, practice=practice, **fields)


def rows(model, **filters):
    """Rows of a scoped model, read without a scope (tests look across tenants on purpose)."""
    with scopes_disabled():
        return list(model.objects.filter(**filters))
