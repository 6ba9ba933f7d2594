"""The demo gift ledger: a year of gifts in serenity-spa, one clinician near the limit, one office manager
well under it; seeding twice adds nothing."""

from decimal import Decimal

import pytest
from django_scopes import scope
from freezegun import freeze_time

from outreach.gifts import selectors as gifts
from outreach.gifts.demo import seed_gifts
from outreach.models import Gift, Touchpoint
from partners.demo import seed_partners
from spas.demo import seed_spas

from .helpers import rows


@pytest.fixture
def demo_spa(db):
    seeded = seed_spas()
    spas = {spa.slug: spa for spa, _logins in seeded}
    seed_partners(spas)
    spa = spas["serenity-spa"]
    from spas.models import Membership, Role

    with scope(spa=spa):
        owner = Membership.objects.filter(spa=spa, role=Role.OWNER).first().user
    return spa, owner


@pytest.mark.parametrize("today", ["2026-12-01 15:00:00", "2026-02-10 15:00:00", "2027-07-01 15:00:00"])
def test_the_demo_has_a_clinician_near_the_limit_and_an_office_manager_well_under(demo_spa, today):
    spa, owner = demo_spa
    with freeze_time(today):
        created = seed_gifts(spa, owner)
        year = int(today[:4])
        with scope(spa=spa):
            standings = {standing.name: standing for standing in gifts.recipient_year_totals(spa=spa, year=year)}
            last_year = gifts.recipient_year_totals(spa=spa, year=year - 1)
    assert created == len(rows(Gift, spa=spa)) >= 15
    patel = standings["Priya Patel, MD, FAAD"]
    assert Decimal("0.85") <= patel.share <= Decimal("0.95")
    assert patel.state == "warning"
    rosa = standings["Rosa Alvarez"]
    assert rosa.person.get_role_display() == "Office manager"
    assert rosa.share < Decimal("0.3")
    assert all(standing.state != "over" for standing in standings.values())
    assert last_year, "last year's entries fill the report's other year"
    assert len(rows(Touchpoint, spa=spa, kind="gift")) == created


def test_seeding_twice_adds_nothing(demo_spa):
    spa, owner = demo_spa
    with freeze_time("2026-12-01 15:00:00"):
        first = seed_gifts(spa, owner)
        assert seed_gifts(spa, owner) == 0
    assert len(rows(Gift, spa=spa)) == first
