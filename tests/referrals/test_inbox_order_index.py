"""The inbox's open tabs read their page from referral_open_order_idx instead of sorting every open referral, and
the overdue count (badge, tab, dashboard) reads referral_overdue_idx instead of the spa's referrals.

The index holds the same "awaiting first contact" expression the inbox orders by
(``referrals.models.awaiting_first_contact_rank``); if the two drift apart, PostgreSQL sorts again (70 ms a
page at 100,000 referrals, bench), which this test sees in the plan.
"""

import pytest
from django.db import connection, transaction
from django_scopes import scope

from referrals.models import OPEN_STATUSES
from referrals.selectors import inbox_ordered, referral_inbox
from tests.conftest import postgres_only

pytestmark = [postgres_only, pytest.mark.django_db]


def _plan(queryset):
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A test database is tiny: make every alternative to the index look expensive, so the plan shows whether
        # the index can give this order at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("tab", ["open", "received", "accepted"])
def test_an_open_tab_s_page_is_read_in_index_order(spa, tab):
    with scope(spa=spa):
        referrals = referral_inbox(spa=spa)
        referrals = referrals.filter(status__in=OPEN_STATUSES) if tab == "open" else referrals.filter(status=tab)
        plan = _plan(inbox_ordered(referrals, tab=tab)[:50])

    assert "referral_open_order_idx" in plan
    assert "Sort" not in plan


def test_the_overdue_count_reads_only_the_overdue_index(spa):
    from referrals.models import Referral
    from referrals.selectors import overdue_condition

    with scope(spa=spa):
        plan = _plan(Referral.objects.filter(overdue_condition(), spa=spa).order_by().values("pk"))

    assert "referral_overdue_idx" in plan
