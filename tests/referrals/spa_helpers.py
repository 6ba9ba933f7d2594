"""Small readers and makers shared by the spa-side referral tests (inbox, lifecycle, clock, intake)."""

import datetime
import html
import re

from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals import services
from referrals.models import ReferralSettings, Status

from ..factories import PracticeFactory, ReferralFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, spa, *args, query=""):
    path = reverse(f"referrals:{name}", args=[spa.slug, *args])
    return f"{path}?{query}" if query else path


def action_url(action, referral):
    return url(f"action_{action}", referral.spa, referral.public_id)


def page_text(response):
    return response.content.decode()


def field_error(response, field, prefix="id_"):
    """The error shown beside ``field`` (the markup forms/field.html draws), or None."""
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="{prefix}{field}_error"[^>]*>(.*?)</div>', page_text(response), re.S
    )
    return html.unescape(match.group(1)).strip() if match else None


def alerts(response):
    """Text of every alert box on the page (messages, refused actions)."""
    return [
        html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"\s+", " ", body))).strip()
        for body in re.findall(
            r'<div class="alert[^"]*" role="(?:alert|status)">(.*?)</div>', page_text(response), re.S
        )
    ]


def listed_patients(response):
    """Patient names in the inbox table, in order."""
    text = page_text(response)
    table = text.split("<tbody>", 1)[-1].split("</tbody>", 1)[0] if "<tbody>" in text else ""
    return [html.unescape(name) for name in re.findall(r'<a class="fw-semibold" href="[^"]+">([^<]+)</a>', table)]


def tab_counts(response):
    """{"all": n, "open": n, "overdue": n, "<status>": n} from the inbox tabs."""
    text = page_text(response)
    nav = text.split('<ul class="nav nav-pills inbox-tabs', 1)[1].split("</ul>", 1)[0]
    counts = {}
    for href, count in re.findall(
        r'<a class="nav-link[^"]*"[^>]*href="([^"]*)"[^>]*>.*?<span class="badge[^"]*">(\d+)</span>', nav, re.S
    ):
        query = html.unescape(href)
        status = re.search(r"status=([a-z_]+)", query)
        key = status.group(1) if status else ("overdue" if "overdue=true" in query else "all")
        counts[key] = int(count)
    return counts


def reload(obj):
    with scopes_disabled():
        return type(obj).objects.get(pk=obj.pk)


def rows(model, **filters):
    with scopes_disabled():
        return list(model.objects.filter(**filters).order_by("pk"))


def count(model, **filters):
    with scopes_disabled():
        return model.objects.filter(**filters).count()


def audit_actions(spa):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(spa=spa).order_by("id").values_list("action", flat=True))


def make_practice(spa, **fields):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, **fields)


def make_referral(spa, *, practice=None, status=Status.RECEIVED, **fields):
    """A referral row in any state (written directly, for setting up a state quickly)."""
    with scope(spa=spa):
        practice = practice or PracticeFactory(spa=spa)
        if status in (Status.SCHEDULED, Status.COMPLETED, Status.NO_SHOW) and "scheduled_for" not in fields:
            fields["scheduled_for"] = timezone.now() + datetime.timedelta(days=3)
        return ReferralFactory(spa=spa, practice=practice, status=status, **fields)


def receive_referral(spa, *, practice=None, notify=False, **patient_fields):
    """A referral received the way the app receives them: through the service (timeline row, audit, clock)."""
    patient = {"patient_first_name": "Rosa", "patient_last_name": "Referred", "patient_phone": "617-555-0199"}
    patient.update(patient_fields)
    with scope(spa=spa):
        practice = practice or PracticeFactory(spa=spa)
        return services.referral_create(
            spa=spa,
            practice=practice,
            channel="phone",
            patient=patient,
            consent_method="verbal",
            consent_captured_by="Test front desk",
            notify=notify,
        )


def set_unreachable_after(spa, attempts):
    with scope(spa=spa):
        ReferralSettings.objects.update_or_create(spa=spa, defaults={"unreachable_after_attempts": attempts})
