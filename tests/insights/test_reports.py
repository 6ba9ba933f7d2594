"""Reports for a chosen period of whole months: the numbers against a hand-built fixture, the period rules, the
CSV (formula safe, audited), who may see them, and the query count as rows grow."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from insights.reports import preset_periods
from outreach.models import Campaign, CampaignEnrollment, Touchpoint
from partners.models import Stage, StageChange
from tests.factories import ClinicianFactory, PracticeFactory, ReferralFactory, ServiceFactory

from ..outreach.helpers import rows

UTC = datetime.UTC


def at(day, hour=17):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=UTC)


@pytest.fixture
def book(spa):
    """Two practices and seven referrals in November 2026 (spa in New York; 17:00 UTC is midday there)."""
    nov = datetime.date(2026, 11, 1)
    with scope(spa=spa):
        facial = ServiceFactory(spa=spa, name="Calming facial", price=Decimal("95.00"))
        massage = ServiceFactory(spa=spa, name="Prenatal massage", price=Decimal("120.00"))
        derm = PracticeFactory(spa=spa, name='=HYPERLINK("http://evil")', specialty="dermatology")
        obgyn = PracticeFactory(spa=spa, name="Back Bay OB-GYN", specialty="ob_gyn")
        patel = ClinicianFactory(spa=spa, practice=derm, first_name="Priya", last_name="Patel", credentials="MD")

        def referral(practice, day, **fields):
            return ReferralFactory(
                spa=spa, practice=practice, received_at=at(nov + datetime.timedelta(days=day)), **fields
            )

        referral(
            derm,
            1,
            clinician=patel,
            status="completed",
            contacted_at=at(nov),
            scheduled_for=at(nov),
            scheduled_service=facial,
            closed_at=at(datetime.date(2026, 11, 10)),
        )
        referral(
            derm,
            2,
            clinician=patel,
            status="completed",
            contacted_at=at(nov),
            scheduled_for=at(nov),
            scheduled_service=facial,
            closed_at=at(datetime.date(2026, 12, 2)),
        )  # completed after the period
        referral(derm, 3, status="cancelled", closed_at=at(nov))  # never contacted
        referral(
            obgyn,
            4,
            channel="portal",
            status="completed",
            contacted_at=at(nov),
            scheduled_for=at(nov),
            scheduled_service=massage,
            closed_at=at(datetime.date(2026, 11, 20)),
        )
        referral(
            obgyn,
            5,
            channel="portal",
            status="completed",
            contacted_at=at(nov),
            scheduled_for=at(nov),
            closed_at=at(datetime.date(2026, 11, 21)),
        )  # completed without a booked service
        referral(
            obgyn, 6, channel="portal", status="cancelled", contacted_at=at(nov), closed_at=at(nov)
        )  # never booked
        referral(obgyn, 7, channel="portal", status="no_show", contacted_at=at(nov), scheduled_for=at(nov))
        referral(obgyn, 40, channel="portal")  # December: outside the period
    return {"derm": derm, "obgyn": obgyn}


def report(client, spa, name, **params):
    query = {"report": name, "start": "2026-11", "end": "2026-11", **params}
    return client.get(reverse("reports:index", args=[spa.slug]), query)


def table(response):
    """The report's table as rows of cell texts (the CSV has the same)."""
    body = response.content.decode()
    section = body.split('id="report-table"')[1].split("</tbody>")[0]
    cells = []
    for row in section.split("<tr>")[2:]:
        cells.append([cell.split(">", 1)[1].split("</td>")[0] for cell in row.split("<td")[1:]])
    return cells


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_referrals_by_practice(owner_client, spa, book):
    response = report(owner_client, spa, "practices")
    assert response.status_code == 200
    assert table(response) == [
        ["Back Bay OB-GYN", "OB-GYN", "4", "2", "50%", "1"],
        ["=HYPERLINK(&quot;http://evil&quot;)", "Dermatology", "3", "2", "67%", "0"],
    ]


def test_referrals_by_clinician_specialty_and_channel(owner_client, spa, book):
    assert table(report(owner_client, spa, "clinicians"))[0][:3] == ["No clinician named", "Back Bay OB-GYN", "4"]
    assert ["Priya Patel, MD", "=HYPERLINK(&quot;http://evil&quot;)", "2", "2", "100%", "0"] in table(
        report(owner_client, spa, "clinicians")
    )
    assert [row[:2] for row in table(report(owner_client, spa, "specialties"))] == [
        ["OB-GYN", "4"],
        ["Dermatology", "3"],
    ]
    assert [row[:2] for row in table(report(owner_client, spa, "channels"))] == [
        ["Partner portal", "4"],
        ["Phone", "3"],
    ]


def totals(response):
    """The cells of the report's totals row."""
    body = response.content.decode()
    row = body.split("<tfoot>")[1].split("</tfoot>")[0]
    return [cell.split(">", 1)[1].split("</td>")[0] for cell in row.split("<td")[1:]]


@pytest.fixture
def declined(spa, book):
    """A referral the spa declined (never contacted, but not lost: the spa chose not to take it)."""
    with scope(spa=spa):
        ReferralFactory(
            spa=spa,
            practice=book["derm"],
            received_at=at(datetime.date(2026, 11, 8)),
            status="declined",
            decline_reason="Outside our services",
            closed_at=at(datetime.date(2026, 11, 8)),
        )


def test_leakage_by_practice_keeps_what_the_spa_declined_apart(owner_client, spa, book, declined):
    response = report(owner_client, spa, "leakage")
    body = response.content.decode()
    assert '<th scope="col" class="text-end">Declined by the spa</th>' in body
    # Referrals, declined by the spa, never contacted, never booked, no-shows, leaked, leaked % (of the
    # referrals not declined): the declined one is not "never contacted", and it is not in the share's base.
    assert table(response) == [
        ["Back Bay OB-GYN", "4", "0", "0", "1", "1", "2", "50%"],
        ["=HYPERLINK(&quot;http://evil&quot;)", "4", "1", "1", "0", "0", "1", "33%"],
    ]
    # The totals fill the percentage from the totals: 3 of the 7 not declined, not 50 % + 33 %.
    assert totals(response) == ["Total", "8", "1", "1", "1", "1", "3", "43%"]


def test_the_leakage_csv_has_the_same_columns(owner_client, spa, book, declined):
    lines = csv_rows(report(owner_client, spa, "leakage", format="csv"))
    assert lines[0] == [
        "Practice",
        "Referrals",
        "Declined by the spa",
        "Never contacted",
        "Never booked",
        "No-shows",
        "Leaked",
        "Leaked %",
    ]
    assert lines[1:] == [
        ["Back Bay OB-GYN", "4", "0", "0", "1", "1", "2", "50"],
        ['\'=HYPERLINK("http://evil")', "4", "1", "1", "0", "0", "1", "33"],
    ]


def test_every_totals_row_fills_its_percentages_from_the_totals(owner_client, spa, book):
    # 4 completed of 7: 57 %, neither the sum (117 %) nor the average (58.5 %) of the rows' 50 % and 67 %.
    assert totals(report(owner_client, spa, "practices")) == ["Total", "", "7", "4", "57%", "1"]
    assert totals(report(owner_client, spa, "clinicians"))[2:] == ["7", "4", "57%", "1"]
    assert totals(report(owner_client, spa, "specialties"))[1:] == ["7", "4", "57%", "1"]
    assert totals(report(owner_client, spa, "channels"))[1:] == ["7", "4", "57%", "1"]
    assert totals(report(owner_client, spa, "revenue")) == ["Total", "3", "2", "$215.00"]


def test_revenue_counts_referrals_completed_in_the_period_at_the_catalog_price(owner_client, spa, book):
    assert table(report(owner_client, spa, "revenue")) == [
        ["Back Bay OB-GYN", "2", "1", "$120.00"],
        ["=HYPERLINK(&quot;http://evil&quot;)", "1", "1", "$95.00"],
    ]


def test_campaign_results_count_from_launch(owner_client, spa, book, owner):
    with scope(spa=spa):
        campaign = Campaign.objects.create(
            spa=spa, name="Derm outreach", status="running", launched_at=at(datetime.date(2026, 11, 2), 12)
        )
        CampaignEnrollment.objects.create(spa=spa, campaign=campaign, practice=book["derm"])
        for day, kind in [(1, "letter"), (3, "letter"), (5, "meeting")]:
            Touchpoint.objects.create(
                spa=spa, practice=book["derm"], kind=kind, occurred_on=datetime.date(2026, 11, day)
            )
        StageChange.objects.create(
            spa=spa, practice=book["derm"], to_stage=Stage.ACTIVE, changed_at=at(datetime.date(2026, 11, 6))
        )
    # Since launch (Nov 2, 12:00 UTC; Nov 2 in New York): the touchpoints of Nov 3 and 5 (one a meeting), one
    # partner won, and the derm practice's three referrals (Nov 2, 3 and 4 at 17:00 UTC).
    assert table(report(owner_client, spa, "campaigns")) == [["Derm outreach", "Running", "1", "2", "1", "1", "3"]]


def test_the_csv_is_formula_safe_and_audited(owner_client, spa, book):
    response = report(owner_client, spa, "practices", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = csv_rows(response)
    assert lines[0] == ["Practice", "Specialty", "Referrals", "Completed", "Completed %", "Still open"]
    assert lines[2][0] == '\'=HYPERLINK("http://evil")'
    assert rows(AuditEvent, action="report.exported", object_id="practices")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-11", "end": "2026-10"}, "end", "The end comes before the start."),
        ({"start": "2023-11", "end": "2026-11"}, "end", "at most three years"),  # 37 months
        ({"start": "not-a-month"}, "start", "Enter a valid month"),
    ],
)
def test_a_bad_period_is_refused_beside_the_field(owner_client, spa, params, field, message):
    response = report(owner_client, spa, "practices", **params)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_{field}_error"' in body and message in body


def test_a_period_is_whole_months_and_old_day_links_still_work(owner_client, spa, book):
    """Figures are kept per month: a period runs from the first of one month to the end of another. A link from
    before (days) shows the months those days are in."""
    body = report(owner_client, spa, "practices", start="2026-11-15", end="2026-11-20").content.decode()
    assert 'value="2026-11"' in body and 'type="month"' in body
    assert table(report(owner_client, spa, "practices", start="2026-11-15", end="2026-11-20")) == table(
        report(owner_client, spa, "practices")
    )
    assert report(owner_client, spa, "practices", start="2023-12", end="2026-11").status_code == 200  # 36 months
    # December's referral joins when the period runs to December.
    assert totals(report(owner_client, spa, "practices", end="2026-12"))[2] == "8"


def test_the_presets_are_whole_months(spa):
    with freeze_time("2026-12-06 15:00"), scope(spa=spa):
        presets = {key: (start, end) for key, _label, start, end in preset_periods(spa)}
    day = datetime.date
    assert presets == {
        "this_month": (day(2026, 12, 1), day(2026, 12, 31)),
        "last_month": (day(2026, 11, 1), day(2026, 11, 30)),
        "last_3_months": (day(2026, 10, 1), day(2026, 12, 31)),
        "this_year": (day(2026, 1, 1), day(2026, 12, 31)),
        "last_12_months": (day(2026, 1, 1), day(2026, 12, 31)),
    }


def test_presets_and_unknown_reports_fall_back_sensibly(owner_client, spa, book):
    url = reverse("reports:index", args=[spa.slug])
    assert owner_client.get(url).status_code == 200
    assert owner_client.get(url, {"preset": "this_year", "report": "leakage"}).status_code == 200
    assert owner_client.get(url, {"report": "../../etc", "preset": "bogus"}).status_code == 200


def test_reports_are_for_managers_and_owners(staff_client, outsider_client, client, spa, client_for, manager_user):
    url = reverse("reports:index", args=[spa.slug])
    assert client_for(manager_user).get(url).status_code == 200
    assert staff_client.get(url).status_code == 403
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_another_spa_s_referrals_never_show(owner_client, spa, book, other_spa):
    with scope(spa=other_spa):
        ReferralFactory(
            spa=other_spa,
            practice=PracticeFactory(spa=other_spa, name="Outsider Dermatology"),
            received_at=at(datetime.date(2026, 11, 3)),
        )
    for name in ("practices", "clinicians", "leakage", "revenue", "campaigns"):
        assert "Outsider Dermatology" not in report(owner_client, spa, name).content.decode()


def test_a_report_s_query_count_does_not_grow_with_its_rows(owner_client, spa, book):
    def count(name):
        with CaptureQueriesContext(connection) as captured:
            assert report(owner_client, spa, name).status_code == 200
        return len(captured)

    report(owner_client, spa, "practices")
    before = {name: count(name) for name in ("practices", "clinicians", "leakage", "revenue", "campaigns")}
    with scope(spa=spa):
        for index in range(30):
            practice = PracticeFactory(spa=spa, name=f"More {index}")
            ReferralFactory(spa=spa, practice=practice, received_at=at(datetime.date(2026, 11, 9)))
            campaign = Campaign.objects.create(spa=spa, name=f"C{index}", launched_at=at(datetime.date(2026, 11, 1)))
            CampaignEnrollment.objects.create(spa=spa, campaign=campaign, practice=practice)
    assert {name: count(name) for name in before} == before
