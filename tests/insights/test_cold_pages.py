"""Cold pages (issue 15): with nothing cached, the dashboard, the inbox, the reports, partner health and the
partners list cost the same number of queries for a history five times the size, and none of them counts
over the spa's referrals (GROUP BY) any more: their figures come from the maintained rows. The dashboard
does not assess every partner's health either: it reads the rows kept per partner.

The history is many referrals over fourteen months, many days, practices, clinicians, channels and
statuses, made by the factory (which counts them in the figures as the services do).
"""

import datetime
import random
import zoneinfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from insights.dashboard import ATTENTION_PER_KIND, dashboard_figures
from insights.report_views import REPORTS
from outreach.health.selectors import HEALTH_STAGES
from partners.models import Practice, Stage
from referrals.models import CLOSED_STATUSES, Referral, Status
from tests.factories import ClinicianFactory, PracticeFactory, ReferralFactory, ServiceFactory

NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)
SPECIALTIES = ["dermatology", "ob_gyn", "physical_therapy", "oncology", "chiropractic"]
# The channels drawn from, fixed: a channel added later (issue 18's "text") must not reshuffle the seeded history —
# whether the small history has a partner at risk (which costs the dashboard three more queries) depends on it.
CHANNELS = ["portal", "landing", "api", "phone", "fax", "email", "walk_in"]
REACHED = {Status.CONTACTED, Status.SCHEDULED, Status.COMPLETED, Status.NO_SHOW}
BOOKED = {Status.SCHEDULED, Status.COMPLETED, Status.NO_SHOW}


def grow(spa, rng, *, practices, referrals):
    """Add ``practices`` practices (two clinicians each) and ``referrals`` referrals over the last 14 months."""
    with scope(spa=spa):
        service = ServiceFactory(spa=spa)
        made = []
        for _ in range(practices):
            practice = PracticeFactory(
                spa=spa,
                specialty=rng.choice(SPECIALTIES),
                stage=rng.choice([Stage.ACTIVE, Stage.ACTIVE, Stage.TRIAL, Stage.PROSPECT]),
            )
            made.append((practice, [ClinicianFactory(spa=spa, practice=practice) for _ in range(2)]))
        for _ in range(referrals):
            practice, clinicians = rng.choice(made)
            received = NOW - datetime.timedelta(days=rng.uniform(0, 420))
            status = rng.choice(Status.values)
            later = received + datetime.timedelta(days=rng.uniform(0.1, 20))
            ReferralFactory(
                spa=spa,
                practice=practice,
                clinician=rng.choice([None, *clinicians]),
                channel=rng.choice(CHANNELS),
                received_at=received,
                status=status,
                contacted_at=later if status in REACHED else None,
                scheduled_for=later if status in BOOKED else None,
                scheduled_service=service if status in BOOKED else None,
                closed_at=later if status in CLOSED_STATUSES else None,
                archived_at=later if rng.random() < 0.05 else None,
            )


def pages(spa):
    """The pages whose referral figures are maintained, as (name, url)."""
    slug = spa.slug
    inbox = reverse("referrals:inbox", args=[slug])
    report = reverse("reports:index", args=[slug])
    return [
        ("dashboard", reverse("insights:dashboard", args=[slug])),
        ("inbox", inbox),
        ("inbox, all tab", inbox + "?status="),
        ("inbox, archive", inbox + "?archived=true&status="),
        ("partner health", reverse("outreach:partner_health", args=[slug])),
        ("partners list", reverse("partners:list", args=[slug])),
        ("partners list by referrals", reverse("partners:list", args=[slug]) + "?sort=-referrals_90d"),
        *((f"report {key}", f"{report}?report={key}&preset=last_12_months") for key in REPORTS),
    ]


def cold_queries(client, spa):
    """{page: the SQL of one request with nothing cached (the soft cache cleared before each)}."""
    captured = {}
    for name, url in pages(spa):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, name
        captured[name] = [query["sql"] for query in queries]
    with scope(spa=spa), CaptureQueriesContext(connection) as queries:
        dashboard_figures(spa=spa, user=client.user, fresh=True)
    captured["dashboard figures, fresh"] = [query["sql"] for query in queries]
    return captured


def counts_over_referrals(sqls):
    """The queries that group the spa's referrals to count them: what a page must no longer do."""
    return [sql for sql in sqls if 'FROM "referrals_referral"' in sql and "GROUP BY" in sql]


@pytest.fixture
def owner_with_client(owner, client_for):
    client = client_for(owner)
    client.user = owner
    return client


def test_cold_pages_cost_the_same_for_five_times_the_history(spa, owner_with_client):
    rng = random.Random(15)
    client = owner_with_client
    with freeze_time(NOW):
        grow(spa, rng, practices=8, referrals=60)
        cold_queries(client, spa)  # the session's first requests write a few things once
        small = cold_queries(client, spa)
        grow(spa, rng, practices=32, referrals=240)
        large = cold_queries(client, spa)
    assert {name: len(sqls) for name, sqls in large.items()} == {name: len(sqls) for name, sqls in small.items()}
    grouped = {name: counts_over_referrals(sqls) for name, sqls in large.items() if name != "report campaigns"}
    assert {name: sqls for name, sqls in grouped.items() if sqls} == {}


def test_the_dashboard_s_figures_equal_a_count_of_the_referrals(spa, owner_with_client):
    """Over a random history, the cold dashboard's figures are what counting the referrals gives."""
    zone = zoneinfo.ZoneInfo(spa.timezone)
    with freeze_time(NOW), scope(spa=spa):
        grow(spa, random.Random(2), practices=10, referrals=200)
        shown = dashboard_figures(spa=spa, user=owner_with_client.user, fresh=True)["referrals"]
        referrals = Referral.objects.filter(spa=spa)
        november = referrals.filter(received_at__gte=datetime.datetime(2026, 11, 1, tzinfo=zone))
        october = referrals.filter(
            received_at__gte=datetime.datetime(2026, 10, 1, tzinfo=zone),
            received_at__lt=datetime.datetime(2026, 11, 1, tzinfo=zone),
        )
        # November 20 at 10:00 in New York: against October 1–20 until 10:00.
        same_stretch = october.filter(received_at__lt=datetime.datetime(2026, 10, 20, 10, tzinfo=zone))
        # The 90 days: November 20 and the 89 days before, whole days on the spa's calendar.
        recent = referrals.filter(received_at__gte=datetime.datetime(2026, 8, 23, tzinfo=zone))
    assert (shown["this_month"], shown["last_month"], shown["last_month_to_date"]) == (
        november.count(),
        october.count(),
        same_stretch.count(),
    )
    assert (shown["received"], shown["contacted"], shown["scheduled"], shown["completed"]) == (
        recent.count(),
        recent.filter(contacted_at__isnull=False).count(),
        recent.filter(scheduled_for__isnull=False).count(),
        recent.filter(status=Status.COMPLETED).count(),
    )


def test_a_cold_dashboard_assesses_only_the_partners_it_lists(spa, owner_with_client):
    """Partner health comes from the rows kept per partner (outreach/health/snapshots.py): with nothing cached, the
    dashboard reads the practices of the at-risk partners it lists and of the overdue referrals it lists, five
    each at most — not every trial and active partner, as assessing them all would."""
    with freeze_time(NOW):
        grow(spa, random.Random(5), practices=40, referrals=200)
        with scope(spa=spa):
            partners = Practice.objects.filter(spa=spa, stage__in=HEALTH_STAGES).count()
        owner_with_client.get(reverse("insights:dashboard", args=[spa.slug]))  # the session's first request writes once
        cache.clear()
        loaded = []

        def count(sender, instance, **kwargs):
            loaded.append(instance)

        post_init.connect(count, sender=Practice)
        try:
            assert owner_with_client.get(reverse("insights:dashboard", args=[spa.slug])).status_code == 200
        finally:
            post_init.disconnect(count, sender=Practice)
    assert partners > 2 * ATTENTION_PER_KIND
    assert len(loaded) <= 2 * ATTENTION_PER_KIND
