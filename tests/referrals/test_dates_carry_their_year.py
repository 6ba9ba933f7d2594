"""Every date shown outside the current year carries its year: a referral from last year reads "Nov 20, 2025"
in the inbox and on its page, while this year's dates stay short ("Dec 1")."""

import datetime
import re

from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from tests.factories import PracticeFactory, ReferralFactory

NOW = datetime.datetime(2026, 12, 5, 15, 0, tzinfo=datetime.UTC)


def _text(response):
    return re.sub(r"\s+", " ", response.content.decode())


@freeze_time(NOW)
def test_a_referral_from_last_year_shows_the_year_in_the_inbox_and_on_its_page(owner_client, spa):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Dermatology")
        old = ReferralFactory(
            spa=spa, practice=practice, received_at=datetime.datetime(2025, 11, 20, 15, 0, tzinfo=datetime.UTC)
        )
        ReferralFactory(
            spa=spa, practice=practice, received_at=datetime.datetime(2026, 12, 1, 15, 0, tzinfo=datetime.UTC)
        )

    inbox = _text(owner_client.get(reverse("referrals:inbox", args=[spa.slug]) + "?status="))
    assert "Nov 20, 2025," in inbox
    assert "Dec 1," in inbox
    assert "Dec 1, 2026" not in inbox

    page = _text(owner_client.get(reverse("referrals:detail", args=[spa.slug, old.public_id])))
    assert re.search(r"received \w+ Nov\. 20, 2025", page)
    # First contact was due two days after receipt, also last year.
    assert re.search(r"\w+ Nov\. 22, 2025", page)
