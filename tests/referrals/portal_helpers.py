"""Makers and readers shared by the partner portal and landing page tests (their fixtures are in conftest.py)."""

import html
import re

from django.test import Client
from django.urls import reverse
from django_scopes import scope

from referrals.services import referral_create

from ..factories import PortalAccessFactory

PORTAL_EMAIL_A = "frida.frontdesk@brookline-derm.example"
PORTAL_EMAIL_B = "pete.pt@backbay-pt.example"


def give_portal_access(practice, user):
    with scope(spa=practice.spa):
        return PortalAccessFactory(spa=practice.spa, practice=practice, user=user)


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def portal_url(name, spa, *args):
    return reverse(f"portal:{name}", args=[spa.slug, *args])


def make_referral(practice, *, first="Paula", last="Patient", channel="phone", **extra):
    """A referral received through the real service (timeline event included), without notification emails."""
    with scope(spa=practice.spa):
        return referral_create(
            spa=practice.spa,
            practice=practice,
            channel=channel,
            consent_method="verbal",
            consent_captured_by="Spa front desk",
            notify=False,
            patient={"patient_first_name": first, "patient_last_name": last, "patient_phone": "(617) 555-0199"},
            **extra,
        )


def page_text(response):
    return response.content.decode()


def field_error(response, field):
    """The error shown beside ``field`` (the markup forms/field.html and the choices partial draw), or None."""
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="id_{field}_error"[^>]*>(.*?)</div>', page_text(response), re.S
    )
    return html.unescape(match.group(1)).strip() if match else None
