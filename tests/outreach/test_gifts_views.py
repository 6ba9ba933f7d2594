"""Gift ledger pages: the ledger, recording a gift, correcting and removing entries, the yearly report
and its CSV, the yearly limits, the practice page's gifts card."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.gifts import selectors as gifts_selectors
from outreach.gifts import services as gifts_services
from outreach.models import Gift, GiftKind, GiftLimit, Touchpoint

from .helpers import HTMX, field_error, make_clinician, make_contact, make_practice, page_text, rows, url

TODAY = "2026-06-15 16:00:00"


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(TODAY):
        yield


@pytest.fixture
def practice(spa):
    return make_practice(spa, name="Glow Dermatology")


@pytest.fixture
def patel(practice):
    return make_clinician(practice, first_name="Priya", last_name="Patel", credentials="MD")


@pytest.fixture
def rosa(practice):
    return make_contact(practice, name="Rosa Alvarez", role="office_manager")


@pytest.fixture
def manager_client(manager_user, client_for):
    return client_for(manager_user)


def give(person, value, *, actor, given_on=datetime.date(2026, 3, 2), **extra):
    with scope(spa=person.spa):
        return gifts_services.gift_record(
            spa=person.spa,
            practice=person.practice,
            recipient=person,
            given_on=given_on,
            kind=extra.pop("kind", GiftKind.MEAL),
            description=extra.pop("description", "Lunch at the practice"),
            fair_market_value=Decimal(value),
            actor=actor,
            **extra,
        ).gift


def post_data(person, **overrides):
    data = {
        "practice": str(person.practice.public_id),
        "recipient": gifts_selectors.recipient_key(person),
        "given_on": "2026-06-10",
        "kind": "meal",
        "description": "Lunch presentation (her share)",
        "fair_market_value": "28.50",
    }
    data.update(overrides)
    return data


def messages_of(response):
    return [
        html_text(match)
        for match in re.findall(r'<div class="alert alert-[^"]*" role="alert">(.*?)<button', page_text(response), re.S)
    ]


def html_text(fragment):
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def gift_page(response):
    """The gift area of a page (without the site's navigation)."""
    match = re.search(r'<div id="gift-page">(.*?)</main>', page_text(response), re.S)
    assert match, "no gift page"
    return match.group(1)


# --- the ledger ------------------------------------------------------------------------------------


def test_the_ledger_shows_entries_and_each_recipients_year_against_the_limit(owner_client, spa, owner, patel, rosa):
    give(patel, "450.00", actor=owner, description="Signature facial")
    give(rosa, "28.50", actor=owner, description="Lunch share")
    give(patel, "99.00", actor=owner, given_on=datetime.date(2025, 12, 31), description="Holiday basket")

    response = owner_client.get(url("gift_ledger", spa))

    assert response.status_code == 200
    text = html_text(page_text(response))
    assert "2026 limit published by CMS: $535.00 per recipient." in text
    assert "Signature facial" in text and "Lunch share" in text
    assert "Holiday basket" not in text  # last year's
    assert "$450.00 of $535.00" in text and "84% used" in text and "Near the limit: $85.00 left" in text
    assert "$28.50 of $535.00" in text and "5% used" in text
    assert 'data-state="warning"' in page_text(response)
    assert 'class="progress-bar bg-warning" style="width: 84%"' in page_text(response)
    assert 'aria-valuetext="$450.00 of $535.00 (84%)"' in page_text(response)


def test_the_ledger_shows_an_override_in_danger_colours(owner_client, spa, owner, patel):
    give(patel, "500.00", actor=owner)
    give(patel, "60.00", actor=owner, override_reason="Retirement dinner")

    text = page_text(owner_client.get(url("gift_ledger", spa)))

    assert 'class="progress-bar bg-danger" style="width: 100%"' in text
    assert "Over the limit by $25.00" in html_text(text)
    assert "Override by Olivia Owner (Jun 15, 2026): Retirement dinner" in html_text(text)


def test_the_ledger_filters_by_year_practice_and_recipient(staff_client, spa, owner, patel, rosa):
    other = make_practice(spa, name="Back Bay OB-GYN")
    liu = make_clinician(other, first_name="Grace", last_name="Liu")
    give(patel, "40.00", actor=owner, description="Patel lunch")
    give(rosa, "20.00", actor=owner, description="Rosa pastries")
    give(liu, "30.00", actor=owner, description="Liu coffee")
    give(liu, "35.00", actor=owner, given_on=datetime.date(2025, 5, 5), description="Liu old lunch")

    by_practice = html_text(page_text(staff_client.get(url("gift_ledger", spa, query=f"practice={other.public_id}"))))
    by_person = html_text(
        page_text(staff_client.get(url("gift_ledger", spa, query=f"recipient={gifts_selectors.recipient_key(rosa)}")))
    )
    last_year = html_text(page_text(staff_client.get(url("gift_ledger", spa, query="year=2025"))))

    assert "Liu coffee" in by_practice and "Patel lunch" not in by_practice
    assert "Rosa pastries" in by_person and "Patel lunch" not in by_person and "Liu coffee" not in by_person
    assert "Liu old lunch" in last_year and "Liu coffee" not in last_year


def test_the_ledger_answers_htmx_filters_with_the_results_only(staff_client, spa, owner, patel):
    give(patel, "40.00", actor=owner, description="Patel lunch")
    response = staff_client.get(url("gift_ledger", spa, query="year=2026"), **HTMX)
    assert "Patel lunch" in page_text(response)
    assert "<html" not in page_text(response)


def test_a_bad_filter_is_ignored_and_shown(staff_client, spa, owner, patel):
    give(patel, "40.00", actor=owner, description="Patel lunch")
    response = staff_client.get(url("gift_ledger", spa, query="year=abc&practice=not-a-uuid"))
    assert response.status_code == 200
    assert "Patel lunch" in page_text(response)
    assert field_error(response, "practice")


def test_an_empty_year_has_an_empty_state_with_a_call_to_action(staff_client, spa):
    response = staff_client.get(url("gift_ledger", spa, query="year=2019"))
    text = html_text(page_text(response))
    assert "No gifts recorded in 2019." in text
    assert url("gift_create", spa) in page_text(response)
    assert "No limit is known for 2019" in text


def test_the_ledger_paginates_entries(staff_client, spa, owner, patel):
    with scope(spa=spa):
        Gift.objects.bulk_create(
            Gift(
                spa=spa,
                practice=patel.practice,
                recipient_clinician=patel,
                given_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=n),
                kind="meal",
                description=f"Coffee {n:02d}",
                fair_market_value=Decimal("1.00"),
            )
            for n in range(55)
        )
    first = page_text(staff_client.get(url("gift_ledger", spa)))
    second = page_text(staff_client.get(url("gift_ledger", spa, query="year=2026&page=2")))
    assert "Coffee 54" in first and "Coffee 04" not in first
    assert "Coffee 04" in second and "Page 2 of 2" in second


def test_a_year_without_a_published_figure_says_which_figure_it_uses(client_for, staff_user, spa):
    with freeze_time("2027-02-01 15:00:00"):
        response = client_for(staff_user).get(url("gift_ledger", spa))
    assert "Not yet published for 2027; using 2026's $535.00 — set it when CMS publishes." in html_text(
        page_text(response)
    )


def _ledger_queries(client, spa):
    client.get(url("gift_ledger", spa))  # the first visit writes the session
    with CaptureQueriesContext(connection) as context:
        response = client.get(url("gift_ledger", spa))
    assert response.status_code == 200
    return len(context)


def test_the_ledger_makes_the_same_number_of_queries_for_few_and_many_gifts(owner_client, spa, owner, patel, rosa):
    give(patel, "10.00", actor=owner)
    give(rosa, "10.00", actor=owner)
    few = _ledger_queries(owner_client, spa)
    for n in range(8):
        practice = make_practice(spa, name=f"Practice {n}")
        person = make_clinician(practice) if n % 2 else make_contact(practice)
        give(person, "500.00", actor=owner)
        give(person, "100.00", actor=owner, override_reason="Agreed")
    assert _ledger_queries(owner_client, spa) == few


def test_the_ledger_needs_a_signed_in_member_of_the_spa(client, outsider_client, spa):
    anonymous = client.get(url("gift_ledger", spa))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert outsider_client.get(url("gift_ledger", spa)).status_code == 404


# --- recording a gift ------------------------------------------------------------------------------


def test_staff_record_a_gift(staff_client, spa, staff_user, patel):
    response = staff_client.post(url("gift_create", spa), post_data(patel), follow=True)
    [gift] = rows(Gift, spa=spa)
    assert gift.recipient_clinician == patel
    assert gift.fair_market_value == Decimal("28.50")
    assert gift.given_on == datetime.date(2026, 6, 10)
    assert gift.logged_by == staff_user
    assert response.redirect_chain[-1][0] == url("gift_ledger", spa)
    assert "Gift recorded. Priya Patel, MD has received $28.50 of the $535.00 limit in 2026." in messages_of(response)
    assert len(rows(Touchpoint, spa=spa, kind="gift")) == 1


def test_recording_the_gift_that_reaches_80_percent_warns(staff_client, spa, owner, patel):
    give(patel, "400.00", actor=owner)
    response = staff_client.post(url("gift_create", spa), post_data(patel, fair_market_value="$30.00"), follow=True)
    assert len(rows(Gift, spa=spa)) == 2
    assert (
        "Gift recorded. Priya Patel, MD has now received $430.00 in 2026 — 80% of the $535.00 limit; "
        "$105.00 remains for the year." in messages_of(response)
    )
    assert 'class="alert alert-warning' in page_text(response)


@pytest.mark.parametrize("kind", ["gift_card", "cash"])
def test_a_gift_card_or_cash_is_refused_beside_the_kind(owner_client, spa, patel, kind):
    response = owner_client.post(url("gift_create", spa), post_data(patel, kind=kind))
    assert response.status_code == 400
    assert "never allowed for referral sources" in field_error(response, "kind")
    assert rows(Gift, spa=spa) == []
    assert rows(Touchpoint, spa=spa) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "Enter a positive amount."),
        ("abc", "Enter an amount in dollars and cents, for example 45.00."),
        ("1e9", "Enter an amount in dollars and cents, for example 45.00."),
        ("12.345", "Use at most two decimals (dollars and cents)."),
        ("12345678", "Enter an amount up to $999,999.99."),
        ("0", "Enter an amount above $0.00."),
        ("1,2", "Enter an amount in dollars and cents, for example 45.00."),
        ("", "This field is required."),
    ],
)
def test_bad_amounts_are_refused_beside_the_field(staff_client, spa, patel, value, message):
    response = staff_client.post(url("gift_create", spa), post_data(patel, fair_market_value=value))
    assert response.status_code == 400
    assert field_error(response, "fair_market_value") == message
    assert rows(Gift, spa=spa) == []


def test_amounts_with_a_dollar_sign_and_thousands_separators_are_read(owner_client, spa, owner, patel):
    owner_client.post(url("gift_create", spa), post_data(patel, fair_market_value="$1,200.00", override_reason="Gala"))
    [gift] = rows(Gift, spa=spa)
    assert gift.fair_market_value == Decimal("1200.00")
    assert gift.override_reason == "Gala"


def test_a_manager_going_over_the_limit_is_refused_beside_the_value_even_with_a_reason(
    manager_client, spa, owner, patel
):
    give(patel, "500.00", actor=owner)
    response = manager_client.post(
        url("gift_create", spa), post_data(patel, fair_market_value="40.00", override_reason="Retirement")
    )
    assert response.status_code == 400
    error = field_error(response, "fair_market_value")
    assert "over the $535.00 limit by $5.00" in error
    assert "Going over needs an owner's recorded override with a reason" in error
    assert 'name="override_reason"' not in page_text(response)  # only owners are offered the override
    assert len(rows(Gift, spa=spa)) == 1


def test_an_owner_going_over_without_a_reason_is_refused_beside_the_reason(owner_client, spa, owner, patel):
    give(patel, "500.00", actor=owner)
    response = owner_client.post(url("gift_create", spa), post_data(patel, fair_market_value="40.00"))
    assert response.status_code == 400
    assert "write the reason for going over here" in field_error(response, "override_reason")
    assert '<details class="mb-3" open>' in page_text(response)
    assert len(rows(Gift, spa=spa)) == 1


def test_an_owner_with_a_reason_goes_over_and_sees_it_said(owner_client, spa, owner, patel):
    give(patel, "500.00", actor=owner)
    response = owner_client.post(
        url("gift_create", spa),
        post_data(patel, fair_market_value="40.00", override_reason="Retirement dinner, agreed with counsel"),
        follow=True,
    )
    gift = rows(Gift, spa=spa, fair_market_value=Decimal("40.00"))[0]
    assert gift.override_by == owner and gift.override_reason == "Retirement dinner, agreed with counsel"
    assert (
        "Gift recorded over the limit with your override: Priya Patel, MD has now received $540.00 in 2026, "
        "against a limit of $535.00." in messages_of(response)
    )
    assert len(rows(AuditEvent, spa=spa, action="gift.limit_overridden")) == 1


def test_a_practice_or_person_of_another_spa_is_refused_beside_the_field(owner_client, spa, other_spa, patel):
    foreign_practice = make_practice(other_spa, name="Foreign Dermatology")
    foreign_person = make_clinician(foreign_practice, last_name="Foreigner")

    response = owner_client.post(url("gift_create", spa), post_data(patel, practice=str(foreign_practice.public_id)))
    assert response.status_code == 400
    assert field_error(response, "practice") == "Choose a practice from the list."

    response = owner_client.post(
        url("gift_create", spa), post_data(patel, recipient=gifts_selectors.recipient_key(foreign_person))
    )
    assert response.status_code == 400
    assert field_error(response, "recipient") == "Choose the clinician or staff member who received it."
    assert "Foreigner" not in page_text(response)
    assert rows(Gift) == []


def test_a_person_of_another_practice_is_refused_beside_the_recipient(owner_client, spa, patel):
    other = make_practice(spa, name="Back Bay OB-GYN")
    response = owner_client.post(url("gift_create", spa), post_data(patel, practice=str(other.public_id)))
    assert response.status_code == 400
    assert field_error(response, "recipient") == (
        "Priya Patel, MD does not work at Back Bay OB-GYN. Choose someone from this practice."
    )
    assert rows(Gift, spa=spa) == []


def test_a_future_date_is_refused_beside_the_date(staff_client, spa, patel):
    response = staff_client.post(url("gift_create", spa), post_data(patel, given_on="2026-06-16"))
    assert response.status_code == 400
    assert "cannot be in the future" in field_error(response, "given_on")


def test_the_form_starts_on_the_spas_today_and_can_be_prefilled_for_a_person(client_for, staff_user, spa, patel, rosa):
    with freeze_time("2027-01-01 03:00:00"):  # still Dec 31 in New York
        response = client_for(staff_user).get(
            url("gift_create", spa, query=f"recipient={gifts_selectors.recipient_key(rosa)}")
        )
    text = page_text(response)
    assert response.status_code == 200
    assert 'value="2026-12-31"' in text
    assert f'<option value="{patel.practice.public_id}" selected>' in text
    assert f'<option value="{gifts_selectors.recipient_key(rosa)}" selected>' in text
    assert "Rosa Alvarez so far in 2026" in html_text(text)


def test_the_cash_kinds_are_listed_apart_as_never_allowed(staff_client, spa):
    text = page_text(staff_client.get(url("gift_create", spa)))
    assert '<optgroup label="Never allowed">' in text
    assert text.index("Never allowed") < text.index("Gift card or voucher")


def test_choosing_a_practice_narrows_the_recipients(staff_client, spa, patel, rosa):
    other = make_practice(spa, name="Back Bay OB-GYN")
    liu = make_clinician(other, first_name="Grace", last_name="Liu")
    response = staff_client.get(url("gift_recipient_options", spa, query=f"practice={other.public_id}"), **HTMX)
    text = page_text(response)
    assert gifts_selectors.recipient_key(liu) in text
    assert gifts_selectors.recipient_key(patel) not in text and gifts_selectors.recipient_key(rosa) not in text
    assert 'id="recipient-standing"' in text and 'hx-swap-oob="true"' in text


def test_choosing_a_person_shows_their_year_so_far(staff_client, spa, owner, patel):
    give(patel, "430.00", actor=owner)
    response = staff_client.get(
        url(
            "gift_recipient_standing",
            spa,
            query=f"recipient={gifts_selectors.recipient_key(patel)}&given_on=2026-06-10",
        ),
        **HTMX,
    )
    text = html_text(page_text(response))
    assert "Priya Patel, MD so far in 2026" in text and "$430.00 of $535.00" in text and "80% used" in text


def test_recording_needs_a_member_of_the_spa(client, outsider_client, spa, patel):
    anonymous = client.post(url("gift_create", spa), post_data(patel))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert outsider_client.post(url("gift_create", spa), post_data(patel)).status_code == 404
    assert rows(Gift) == []


# --- correcting and removing -----------------------------------------------------------------------


def test_an_owner_corrects_an_entry(owner_client, spa, owner, patel):
    wrong = give(patel, "45.00", actor=owner)
    page = owner_client.get(url("gift_correct", spa, wrong.public_id))
    assert page.status_code == 200 and 'value="45.00"' in page_text(page)

    response = owner_client.post(
        url("gift_correct", spa, wrong.public_id),
        post_data(patel, fair_market_value="54.00", correction_reason="Tip was left out"),
    )

    assert response.status_code == 302
    [gift] = rows(Gift, spa=spa)
    assert gift.fair_market_value == Decimal("54.00") and gift.pk != wrong.pk
    [event] = rows(AuditEvent, spa=spa, action="gift.corrected")
    assert event.detail["reason"] == "Tip was left out"


def test_a_correction_without_a_reason_is_refused_and_changes_nothing(owner_client, spa, owner, patel):
    wrong = give(patel, "45.00", actor=owner)
    response = owner_client.post(url("gift_correct", spa, wrong.public_id), post_data(patel, fair_market_value="54.00"))
    assert response.status_code == 400
    assert field_error(response, "correction_reason") == "This field is required."
    assert [gift.pk for gift in rows(Gift, spa=spa)] == [wrong.pk]


def test_an_owner_removes_an_entry_with_a_reason(owner_client, spa, owner, patel):
    gift = give(patel, "45.00", actor=owner)
    assert owner_client.get(url("gift_delete", spa, gift.public_id)).status_code == 200
    refused = owner_client.post(url("gift_delete", spa, gift.public_id), {"reason": ""})
    assert refused.status_code == 400 and field_error(refused, "reason") == "This field is required."
    assert len(rows(Gift, spa=spa)) == 1

    response = owner_client.post(url("gift_delete", spa, gift.public_id), {"reason": "Recorded twice"})

    assert response.status_code == 302
    assert rows(Gift, spa=spa) == []
    assert rows(Touchpoint, spa=spa, kind="gift") == []
    assert rows(AuditEvent, spa=spa, action="gift.deleted")[0].detail["reason"] == "Recorded twice"


@pytest.mark.parametrize("name", ["gift_correct", "gift_delete"])
def test_managers_and_staff_cannot_correct_or_remove_entries(manager_client, staff_client, spa, owner, patel, name):
    gift = give(patel, "45.00", actor=owner)
    assert manager_client.post(url(name, spa, gift.public_id), {"reason": "x"}).status_code == 403
    assert staff_client.get(url(name, spa, gift.public_id)).status_code == 403
    assert len(rows(Gift, spa=spa)) == 1


def test_only_owners_see_the_correct_and_remove_buttons(owner_client, staff_client, spa, owner, patel):
    gift = give(patel, "45.00", actor=owner)
    assert url("gift_delete", spa, gift.public_id) in page_text(owner_client.get(url("gift_ledger", spa)))
    assert url("gift_delete", spa, gift.public_id) not in page_text(staff_client.get(url("gift_ledger", spa)))


def test_another_spas_gift_is_not_found(owner_client, other_spa, outsider, spa):
    foreign = make_clinician(make_practice(other_spa, name="Foreign Dermatology"), last_name="Foreigner")
    gift = give(foreign, "45.00", actor=outsider)
    assert owner_client.get(url("gift_correct", spa, gift.public_id)).status_code == 404
    assert owner_client.post(url("gift_delete", spa, gift.public_id), {"reason": "x"}).status_code == 404
    assert len(rows(Gift)) == 1


# --- the yearly report and its CSV -----------------------------------------------------------------


def test_the_report_lists_each_recipient_with_role_practice_count_total_limit_and_overrides(
    staff_client, spa, owner, patel, rosa
):
    give(patel, "500.00", actor=owner)
    give(patel, "60.00", actor=owner, override_reason="Retirement dinner")
    give(rosa, "28.50", actor=owner)
    give(rosa, "99.00", actor=owner, given_on=datetime.date(2025, 4, 4))

    response = staff_client.get(url("gift_report", spa, 2026))

    text = html_text(page_text(response))
    assert response.status_code == 200
    assert "Gifts per recipient in 2026" in text
    patel_row = re.search(r'data-recipient="clinician:[^"]+">(.*?)</tr>', page_text(response), re.S).group(1)
    assert "Priya Patel, MD" in patel_row and "Clinician (MD)" in patel_row and "Glow Dermatology" in patel_row
    assert "$560.00" in patel_row and "$535.00" in patel_row and "104% used" in patel_row
    assert "Override by Olivia Owner (Jun 15, 2026): Retirement dinner" in html_text(patel_row)
    rosa_row = re.search(r'data-recipient="contact:[^"]+">(.*?)</tr>', page_text(response), re.S).group(1)
    assert "Office staff (Office manager)" in rosa_row and "$28.50" in rosa_row and "5% used" in rosa_row
    assert patel_row.index("Priya") < len(patel_row)  # rows sorted by share: Patel first
    assert page_text(response).index("Priya Patel") < page_text(response).index("Rosa Alvarez")


def test_the_year_chooser_goes_to_that_years_report(staff_client, spa):
    response = staff_client.get(url("gift_report_current", spa, query="year=2026"))
    assert response.status_code == 302 and response["Location"] == url("gift_report", spa, 2026)
    assert staff_client.get(url("gift_report_current", spa))["Location"] == url("gift_report", spa, 2026)


def test_a_year_outside_the_range_is_not_found(staff_client, spa):
    assert staff_client.get(url("gift_report", spa, 1999)).status_code == 404
    assert staff_client.get(url("gift_report", spa, 99999)).status_code == 404


def test_an_empty_report_has_an_empty_state(staff_client, spa):
    assert "Nothing was recorded in 2026." in html_text(page_text(staff_client.get(url("gift_report", spa, 2026))))


def _parse_csv(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_has_per_recipient_totals_and_neutralises_formulas(manager_client, spa, owner, manager_user):
    practice = make_practice(spa, name="+Evil Practice")
    sly = make_clinician(practice, first_name='=HYPERLINK("http://x")', last_name="-Sly", credentials="MD")
    plain = make_contact(practice, name="@Front Desk", role="front_desk")
    give(sly, "300.00", actor=owner)
    give(sly, "250.00", actor=owner, override_reason="=cmd|' /C calc'!A0")
    give(plain, "12.25", actor=owner)

    response = manager_client.get(url("gift_report_csv", spa, 2026))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header, *data = _parse_csv(response)
    assert header == [
        "Year", "Recipient", "Role", "Practice", "Gifts", "Total (USD)", "Limit (USD)",
        "Percent of limit used", "Status", "Overrides",
    ]  # fmt: skip
    by_name = {row[1]: row for row in data}
    sly_row = by_name['\'=HYPERLINK("http://x") -Sly, MD']
    assert sly_row[3] == "'+Evil Practice"
    assert sly_row[4:9] == ["2", "550.00", "535.00", "102", "Over the limit"]
    assert "=cmd" in sly_row[9] and sly_row[9].startswith("2026-03-02 $250.00 by Olivia Owner: ")
    assert by_name["'@Front Desk"][2:9] == [
        "Office staff (Front desk)", "'+Evil Practice", "1", "12.25", "535.00", "2", "Within the limit"
    ]  # fmt: skip
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in data for cell in row)
    [event] = rows(AuditEvent, spa=spa, action="gift.report_exported")
    assert event.actor == manager_user and event.detail == {"year": 2026}


def test_staff_cannot_export_the_report(staff_client, spa):
    assert staff_client.get(url("gift_report_csv", spa, 2026)).status_code == 403
    assert rows(AuditEvent, spa=spa, action="gift.report_exported") == []


def test_the_report_pages_need_a_member_of_the_spa(client, outsider_client, spa):
    for name in ("gift_report", "gift_report_csv"):
        assert outsider_client.get(url(name, spa, 2026)).status_code == 404
        assert client.get(url(name, spa, 2026))["Location"].startswith("/accounts/login/")


def _report_queries(client, spa):
    client.get(url("gift_report", spa, 2026))  # the first visit writes the session
    with CaptureQueriesContext(connection) as context:
        response = client.get(url("gift_report", spa, 2026))
    assert response.status_code == 200
    return len(context)


def test_the_report_makes_the_same_number_of_queries_for_few_and_many_gifts(owner_client, spa, owner, patel, rosa):
    give(patel, "10.00", actor=owner)
    give(rosa, "10.00", actor=owner)
    few = _report_queries(owner_client, spa)
    for n in range(8):
        practice = make_practice(spa, name=f"Practice {n}")
        person = make_clinician(practice) if n % 2 else make_contact(practice)
        give(person, "500.00", actor=owner)
        give(person, "100.00", actor=owner, override_reason="Agreed")
    assert _report_queries(owner_client, spa) == few


# --- the yearly limits -----------------------------------------------------------------------------


def test_the_limits_page_lists_published_spa_and_provisional_years(staff_client, spa, owner):
    with scope(spa=spa):
        gifts_services.gift_limit_set(spa=spa, year=2025, limit=Decimal("450.00"), actor=owner)
    text = html_text(page_text(staff_client.get(url("gift_limits", spa))))
    assert "2027 $535.00 Provisional Not yet published for 2027; using 2026's $535.00" in text
    assert "2026 $535.00 Published by CMS" in text
    assert "2025 $450.00 Set by your spa" in text
    assert "2024 $507.00 Published by CMS" in text
    assert "Only an owner can change a year's limit." in text


def test_an_owner_sets_a_years_limit(owner_client, spa, owner):
    page = owner_client.get(url("gift_limit_edit", spa, 2027))
    assert page.status_code == 200 and 'value="535.00"' in page_text(page)
    response = owner_client.post(url("gift_limit_edit", spa, 2027), {"limit": "548.00"}, follow=True)
    [limit] = rows(GiftLimit, spa=spa)
    assert (limit.year, limit.limit) == (2027, Decimal("548.00"))
    assert "The 2027 limit is now $548.00 per recipient." in messages_of(response)
    assert rows(AuditEvent, spa=spa, action="gift_limit.set")[0].actor == owner


def test_an_owner_goes_back_to_the_published_figure(owner_client, spa, owner):
    with scope(spa=spa):
        gifts_services.gift_limit_set(spa=spa, year=2026, limit=Decimal("400"), actor=owner)
    response = owner_client.post(url("gift_limit_edit", spa, 2026), {"action": "reset"})
    assert response.status_code == 302
    assert rows(GiftLimit, spa=spa) == []


@pytest.mark.parametrize("value", ["-1", "abc", "1e9", "10000000"])
def test_a_bad_limit_is_refused_beside_the_field(owner_client, spa, value):
    response = owner_client.post(url("gift_limit_edit", spa, 2027), {"limit": value})
    assert response.status_code == 400
    assert field_error(response, "limit")
    assert rows(GiftLimit, spa=spa) == []


def test_a_zero_limit_is_allowed_and_then_every_gift_needs_an_override(owner_client, staff_client, spa, patel):
    owner_client.post(url("gift_limit_edit", spa, 2026), {"limit": "0"})
    response = staff_client.post(url("gift_create", spa), post_data(patel))
    assert response.status_code == 400
    assert "over the $0.00 limit" in field_error(response, "fair_market_value")


def test_managers_cannot_set_limits(manager_client, spa):
    assert manager_client.post(url("gift_limit_edit", spa, 2027), {"limit": "600"}).status_code == 403
    assert rows(GiftLimit, spa=spa) == []


def test_the_limit_pages_need_a_member_of_the_spa(client, outsider_client, spa):
    assert outsider_client.get(url("gift_limits", spa)).status_code == 404
    assert outsider_client.post(url("gift_limit_edit", spa, 2027), {"limit": "1"}).status_code == 404
    assert client.get(url("gift_limit_edit", spa, 2027))["Location"].startswith("/accounts/login/")
    assert rows(GiftLimit) == []


# --- the practice page's card ----------------------------------------------------------------------


def test_the_practice_page_shows_this_years_gifts_per_person(staff_client, spa, owner, patel, rosa):
    from django.urls import reverse

    give(patel, "450.00", actor=owner)
    response = staff_client.get(reverse("partners:detail", args=[spa.slug, patel.practice.public_id]))
    card = re.search(
        r'<section class="card shadow-sm mb-4" aria-labelledby="gifts-title".*?</section>', page_text(response), re.S
    ).group(0)
    text = html_text(card)
    assert "Gifts in 2026" in text
    assert "Priya Patel, MD · Clinician (MD)" in text and "$450.00 of $535.00" in text and "84% used" in text
    assert "Rosa Alvarez · Office staff (Office manager)" in text and "$0.00 of $535.00" in text
    assert f"{url('gift_create', spa)}?practice={patel.practice.public_id}" in card


def _card_queries(spa, practice):
    request = RequestFactory().get("/")
    request.spa = spa
    template = Template("{% include 'outreach/partials/practice_gifts.html' %}")
    with scope(spa=spa), CaptureQueriesContext(connection) as context:
        html = template.render(Context({"practice": practice, "current_spa": spa, "request": request}))
    return len(context), html


def test_the_practice_card_makes_the_same_number_of_queries_for_few_and_many(spa, owner, patel):
    give(patel, "10.00", actor=owner)
    few, _html = _card_queries(spa, patel.practice)
    for n in range(6):
        person = make_clinician(patel.practice) if n % 2 else make_contact(patel.practice)
        give(person, "50.00", actor=owner)
        give(person, "20.00", actor=owner, given_on=datetime.date(2025, 3, 3))
    many, html = _card_queries(spa, patel.practice)
    assert many == few
    assert html.count("data-recipient=") == 7


def test_a_practice_without_people_says_what_to_do(spa):
    practice = make_practice(spa, name="Empty Practice")
    _queries, html = _card_queries(spa, practice)
    assert "Add the practice's clinicians and office contacts to record gifts to them." in html


# --- nothing about referrals -----------------------------------------------------------------------


def test_no_gift_page_gives_referrals_as_a_reason(owner_client, spa, owner, patel, rosa):
    from django.urls import reverse

    gift = give(patel, "450.00", actor=owner)
    pages = [
        owner_client.get(url("gift_ledger", spa)),
        owner_client.get(url("gift_create", spa)),
        owner_client.post(url("gift_create", spa), post_data(patel, kind="gift_card")),
        owner_client.get(url("gift_correct", spa, gift.public_id)),
        owner_client.get(url("gift_delete", spa, gift.public_id)),
        owner_client.get(url("gift_report", spa, 2026)),
        owner_client.get(url("gift_limits", spa)),
        owner_client.get(url("gift_limit_edit", spa, 2026)),
    ]
    for response in pages:
        mentions = re.findall(r"referr\w*(?: \w+)?", gift_page(response), re.I)
        assert [mention for mention in mentions if not mention.lower().startswith("referral source")] == []
    practice_page = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, patel.practice.public_id])))
    card = re.search(r'aria-labelledby="gifts-title".*?</section>', practice_page, re.S).group(0)
    assert "referr" not in card.lower()


def test_cash_is_refused_at_once_even_when_other_fields_need_fixing(staff_client, spa, patel):
    response = staff_client.post(url("gift_create", spa), post_data(patel, kind="cash", fair_market_value="abc"))
    assert response.status_code == 400
    assert "never allowed for referral sources" in field_error(response, "kind")
    assert field_error(response, "fair_market_value") == "Enter an amount in dollars and cents, for example 45.00."
    assert rows(Gift, spa=spa) == []


def test_a_practice_without_people_offers_to_add_them(staff_client, spa):
    empty = make_practice(spa, name="Empty Practice")
    response = staff_client.get(url("gift_recipient_options", spa, query=f"practice={empty.public_id}"), **HTMX)
    text = html_text(page_text(response))
    assert "Nobody is listed at Empty Practice yet." in text
    assert f"/partners/{empty.public_id}/" in page_text(response)
