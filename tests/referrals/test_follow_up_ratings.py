"""The patients' rating figures (referrals/followup/ratings.py): kept in step with the answers by every write that
changes them, read by the practice page and the Patient ratings report instead of the answers, rebuilt by
``manage.py rebuild_follow_up_ratings``.

Answers go through the real services: a referral completed the way staff do it, its thank-you sent by the sender,
``satisfaction_submit`` with the patient's score. A seeded random history (answers across month ends and a
daylight-saving change, merges, a specialty corrected, erasures, the spa's time zone) checks after every write that
the kept rows equal a fresh GROUP BY over the answers, and that both reads equal what the answers themselves say.
"""

import datetime
import itertools
import random
import threading
import zoneinfo
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Avg, Count, F, ProtectedError
from django.test.utils import CaptureQueriesContext
from django_scopes import ScopeError, scope
from freezegun import freeze_time

from partners import services as partner_services
from partners.models import Practice
from referrals.followup import ratings
from referrals.followup.selectors import practice_rating, ratings_by_practice
from referrals.followup.services import follow_ups_send_due, satisfaction_submit
from referrals.models import PatientFollowUp, RatingMonthFigures, SatisfactionResponse
from referrals.patient_rights.services import patient_erase
from spas import services as spa_services
from spas.models import Role, Spa

from ..conftest import postgres_only
from ..factories import MembershipFactory, PracticeFactory, SpaFactory, UserFactory
from .follow_up_helpers import NEW_YORK, completed_referral

UTC = datetime.UTC
_patients = itertools.count(1)


def answer(spa, owner, *, practice, score, at):
    """A patient referred by ``practice`` answers ``score`` at ``at``: the referral completed three days before, its
    thank-you sent by the sender, the answer through ``satisfaction_submit``. Returns the answer."""
    referral = completed_referral(
        spa, owner, visit=at - datetime.timedelta(days=3), practice=practice, patient_email=_new_email()
    )
    with scope(spa=spa):
        follow_up = PatientFollowUp.objects.get(spa=spa, referral=referral)
        follow_ups_send_due(spa=spa, now=follow_up.due_at)
    with freeze_time(at), scope(spa=spa):
        return satisfaction_submit(follow_up=follow_up, score=score)


def _new_email():
    return f"patient{next(_patients)}@patient.example"


def month_boundary(year, month, spa):
    return datetime.datetime(year, month, 1, tzinfo=zoneinfo.ZoneInfo(spa.timezone))


# --- what the answers themselves say (the reads' reference) ---------------------------------------------------


def rating_from_the_answers(spa, practice):
    row = SatisfactionResponse.objects.filter(spa=spa, practice=practice).aggregate(
        average=Avg("score"), count=Count("id")
    )
    return {"average": None if row["average"] is None else round(row["average"], 1), "count": row["count"]}


def report_from_the_answers(spa, since, before):
    rows = (
        SatisfactionResponse.objects.filter(spa=spa, submitted_at__gte=since, submitted_at__lt=before)
        .values("practice_id", name=F("practice__name"))
        .annotate(average=Avg("score"), answers=Count("id"))
        .order_by("-answers", "name", "practice_id")
    )
    return [{"name": row["name"], "answers": row["answers"], "average": round(row["average"], 1)} for row in rows]


# --- maintenance ----------------------------------------------------------------------------------------------


def test_an_answer_is_counted_in_its_month_on_the_spas_calendar_in_the_same_transaction(spa, owner):
    practice = PracticeFactory(spa=spa)
    # 23:30 on March 31 in New York is already April in UTC: the answer counts in the spa's March.
    late_march = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=NEW_YORK)
    answer(spa, owner, practice=practice, score=4, at=late_march)
    answer(spa, owner, practice=practice, score=5, at=late_march + datetime.timedelta(minutes=5))
    answer(spa, owner, practice=practice, score=2, at=late_march + datetime.timedelta(hours=1))  # April 1, 00:30
    with scope(spa=spa):
        rows = RatingMonthFigures.objects.filter(spa=spa).order_by("month")
        assert [(row.practice_id, row.month, row.answers, row.score_sum) for row in rows] == [
            (practice.pk, datetime.date(2026, 3, 1), 2, 9),
            (practice.pk, datetime.date(2026, 4, 1), 1, 2),
        ]
        assert practice_rating(spa=spa, practice=practice) == {"average": 3.7, "count": 3}


def test_a_refused_answer_counts_nothing(spa, owner):
    practice = PracticeFactory(spa=spa)
    first = answer(spa, owner, practice=practice, score=5, at=datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK))
    with scope(spa=spa), pytest.raises(ValidationError, match="already answered"):
        satisfaction_submit(follow_up=first.follow_up, score=1)
    with scope(spa=spa):
        assert list(RatingMonthFigures.objects.values_list("answers", "score_sum")) == [(1, 5)]


def test_a_merge_moves_the_merged_practices_rating_onto_the_survivor(spa, owner):
    survivor, merged = PracticeFactory(spa=spa, name="Survivor Derm"), PracticeFactory(spa=spa, name="Merged Derm")
    march = datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK)
    answer(spa, owner, practice=survivor, score=5, at=march)
    answer(spa, owner, practice=merged, score=1, at=march)  # the same month: the two rows meet under one key
    answer(spa, owner, practice=merged, score=3, at=march + datetime.timedelta(days=30))  # April: a row of its own
    with scope(spa=spa):
        partner_services.practice_merge(survivor=survivor, merged=merged, actor=owner)
        rows = RatingMonthFigures.objects.filter(spa=spa).order_by("month")
        assert [(row.practice_id, row.month, row.answers, row.score_sum) for row in rows] == [
            (survivor.pk, datetime.date(2026, 3, 1), 2, 6),
            (survivor.pk, datetime.date(2026, 4, 1), 1, 3),
        ]
        assert practice_rating(spa=spa, practice=survivor) == {"average": 3.0, "count": 3}
        assert ratings.differences(spa) == []


def test_a_time_zone_change_moves_answers_between_months(spa, owner):
    practice = PracticeFactory(spa=spa)
    # 21:30 on March 31 in New York: still March in Los Angeles, already April 1 in Tokyo.
    answer(spa, owner, practice=practice, score=4, at=datetime.datetime(2026, 3, 31, 21, 30, tzinfo=NEW_YORK))
    with scope(spa=spa):
        assert list(RatingMonthFigures.objects.values_list("month", flat=True)) == [datetime.date(2026, 3, 1)]
        tokyo = spa_services.spa_update(spa=Spa.objects.get(pk=spa.pk), actor=owner, timezone="Asia/Tokyo")
        assert list(RatingMonthFigures.objects.values_list("month", flat=True)) == [datetime.date(2026, 4, 1)]
        assert ratings.differences(tokyo) == []
        april = ratings_by_practice(
            spa=tokyo, since=month_boundary(2026, 4, tokyo), before=month_boundary(2026, 5, tokyo)
        )
        assert april == [{"name": practice.name, "answers": 1, "average": 4.0}]


def test_erasure_keeps_the_score_and_the_rating(spa, owner):
    practice = PracticeFactory(spa=spa)
    given = answer(spa, owner, practice=practice, score=2, at=datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK))
    with scope(spa=spa):
        patient_erase(spa=spa, referrals=[given.follow_up.referral], actor=owner, request_channel="email")
        assert practice_rating(spa=spa, practice=practice) == {"average": 2.0, "count": 1}
        assert ratings.differences(spa) == []


def test_a_practice_is_deleted_with_its_rows_and_one_with_answers_cannot_be_deleted(spa, owner):
    rated = PracticeFactory(spa=spa)
    answer(spa, owner, practice=rated, score=5, at=datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK))
    with scope(spa=spa):
        # Its referrals protect a practice with answers: nothing is deleted, the rating stays right.
        with pytest.raises(ProtectedError):
            Practice.objects.get(pk=rated.pk).delete()
        assert ratings.differences(spa) == [] and RatingMonthFigures.objects.filter(practice=rated).exists()
        # A practice without referrals goes with whatever rows point at it (here a drifted one): the cascade.
        unrated = PracticeFactory(spa=spa)
        RatingMonthFigures.objects.create(spa=spa, practice=unrated, month=datetime.date(2026, 3, 1), answers=1)
        unrated.delete()
        assert not RatingMonthFigures.objects.filter(practice_id=unrated.pk).exists()
        assert ratings.differences(spa) == []


# --- the random history ---------------------------------------------------------------------------------------

WRITES = {"answer": 12, "merge": 1, "specialty": 1, "erase": 1, "timezone": 0.5}
EXERCISED = {"answer", "merge", "specialty", "erase"}


class History:
    """One spa's side of the random history: its owner and practices, and one method per kind of write."""

    def __init__(self, rng, spa):
        self.rng = rng
        self.spa = spa
        self.owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory()).user
        for _ in range(3):
            PracticeFactory(spa=spa)

    def practices(self):
        return list(Practice.objects.filter(spa=self.spa).order_by("pk"))

    def answer(self, clock):
        practice = self.rng.choice(self.practices())
        return answer(self.spa, self.owner, practice=practice, score=self.rng.randint(1, 5), at=clock)

    def merge(self, clock):
        survivor, merged = self.rng.sample(self.practices(), 2)
        result = partner_services.practice_merge(survivor=survivor, merged=merged, actor=self.owner)
        PracticeFactory(spa=self.spa)  # keep a few practices to answer for
        return result

    def specialty(self, clock):
        practice = self.rng.choice(self.practices())
        new = "oncology" if practice.specialty != "oncology" else "dermatology"
        return partner_services.practice_update(practice=practice, actor=self.owner, fields={"specialty": new})

    def erase(self, clock):
        answered = list(SatisfactionResponse.objects.filter(spa=self.spa).order_by("pk"))
        if not answered:
            return None
        referral = self.rng.choice(answered).follow_up.referral
        return patient_erase(spa=self.spa, referrals=[referral], actor=self.owner, request_channel="email")

    def timezone(self, clock):
        zone = "America/Los_Angeles" if self.spa.timezone == "America/New_York" else "America/New_York"
        self.spa = spa_services.spa_update(spa=Spa.objects.get(pk=self.spa.pk), actor=self.owner, timezone=zone)
        return self.spa


def assert_the_reads_equal_the_answers(history, step):
    spa = history.spa
    assert ratings.differences(spa) == [], f"after step {step} in {spa.slug}"
    for practice in history.practices():
        assert practice_rating(spa=spa, practice=practice) == rating_from_the_answers(spa, practice), step
    for first, last in [((2026, 2), (2026, 2)), ((2026, 3), (2026, 3)), ((2026, 2), (2026, 4)), ((2026, 4), (2026, 5))]:
        since = month_boundary(*first, spa)
        before = month_boundary(last[0], last[1] + 1, spa)
        read = ratings_by_practice(spa=spa, since=since, before=before)
        assert read == report_from_the_answers(spa, since, before), f"{first}–{last} after step {step}"


@pytest.mark.parametrize("seed", [19, 2026])
def test_random_histories_keep_the_reads_equal_to_the_answers(db, seed):
    rng = random.Random(seed)
    histories = [
        History(rng, SpaFactory(slug=f"ratings-{seed}-east", timezone="America/New_York")),
        History(rng, SpaFactory(slug=f"ratings-{seed}-west", timezone="America/Los_Angeles")),
    ]
    # From late February to May: month ends and the start of daylight time (March 8) on both spas' calendars.
    clock = datetime.datetime(2026, 2, 24, 12, tzinfo=UTC)
    done = Counter()
    kinds, weights = list(WRITES), list(WRITES.values())
    for step in range(70):
        clock += datetime.timedelta(minutes=rng.randint(60, 48 * 60))
        history = rng.choice(histories)
        kind = rng.choices(kinds, weights)[0]
        with scope(spa=history.spa):
            if getattr(history, kind)(clock) is not None:
                done[kind] += 1
            assert_the_reads_equal_the_answers(history, step)
    assert not EXERCISED - set(done), f"never exercised: {EXERCISED - set(done)}"
    assert done["answer"] >= 30


# --- the reads ------------------------------------------------------------------------------------------------


def test_the_report_wants_whole_months(spa):
    with scope(spa=spa), pytest.raises(ValueError, match="starts no month"):
        ratings_by_practice(
            spa=spa, since=datetime.datetime(2026, 3, 15, tzinfo=NEW_YORK), before=month_boundary(2026, 4, spa)
        )
    with scope(spa=spa), pytest.raises(ValueError, match="starts no month"):
        # Midnight UTC is 19:00 or 20:00 the evening before in New York: not the spa's month boundary.
        ratings_by_practice(
            spa=spa, since=datetime.datetime(2026, 3, 1, tzinfo=UTC), before=month_boundary(2026, 4, spa)
        )


def test_the_practice_page_and_the_report_show_the_kept_figures(spa, owner, owner_client):
    practice = PracticeFactory(spa=spa, name="Kept Figures Dermatology")
    answer(spa, owner, practice=practice, score=5, at=datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK))
    with scope(spa=spa):
        # A drifted row (a hand-made fix gone wrong): the pages show it, which proves they read the rows.
        RatingMonthFigures.objects.filter(spa=spa, practice=practice).update(answers=10, score_sum=42)
    page = owner_client.get(f"/s/{spa.slug}/partners/{practice.public_id}/").content.decode()
    assert "Patients referred by Kept Figures Dermatology rate us <strong>4.2</strong> (10 answers)." in page
    report = owner_client.get(
        f"/s/{spa.slug}/reports/", {"report": "satisfaction", "start": "2026-03", "end": "2026-03"}
    ).content.decode()
    table = report.split('id="report-table"')[1].split("</tbody>")[0]
    assert "Kept Figures Dermatology" in table and "4.2" in table and ">10<" in table
    # The rebuild puts the truth back, and the pages follow.
    call_command("rebuild_follow_up_ratings", "--spa", spa.slug)
    page = owner_client.get(f"/s/{spa.slug}/partners/{practice.public_id}/").content.decode()
    assert "rate us <strong>5.0</strong> (1 answer)." in page


def _queries_of(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_the_practice_page_and_the_report_read_no_answers_and_cost_the_same_with_more_answers(spa, owner, owner_client):
    practice = PracticeFactory(spa=spa, name="Busy Dermatology")
    march = datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK)
    page_url = f"/s/{spa.slug}/partners/{practice.public_id}/"
    report = (f"/s/{spa.slug}/reports/", {"report": "satisfaction", "start": "2026-02", "end": "2026-04"})
    answer(spa, owner, practice=practice, score=4, at=march)
    _queries_of(owner_client, page_url), _queries_of(owner_client, *report)  # warm: first-visit settings, caches
    page_before, report_before = _queries_of(owner_client, page_url), _queries_of(owner_client, *report)
    for days in range(1, 7):  # six more answers in the same months
        answer(spa, owner, practice=practice, score=3, at=march + datetime.timedelta(days=days * 3))
    page_after, report_after = _queries_of(owner_client, page_url), _queries_of(owner_client, *report)

    assert len(page_after) == len(page_before)
    assert len(report_after) == len(report_before)
    table = SatisfactionResponse._meta.db_table
    assert [sql for sql in page_after + report_after if table in sql] == []
    assert any(RatingMonthFigures._meta.db_table in sql for sql in page_after)
    assert any(RatingMonthFigures._meta.db_table in sql for sql in report_after)


def test_another_spas_figures_never_show(spa, owner, other_spa):
    ours, theirs = PracticeFactory(spa=spa, name="Our Derm"), PracticeFactory(spa=other_spa, name="Their Derm")
    march = datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK)
    answer(spa, owner, practice=ours, score=5, at=march)
    answer(other_spa, owner, practice=theirs, score=1, at=march)
    answer(other_spa, owner, practice=theirs, score=1, at=march)
    with scope(spa=spa):
        assert practice_rating(spa=spa, practice=ours) == {"average": 5.0, "count": 1}
        assert practice_rating(spa=spa, practice=theirs) == {"average": None, "count": 0}  # not ours: nothing
        report = ratings_by_practice(spa=spa, since=month_boundary(2026, 3, spa), before=month_boundary(2026, 4, spa))
        assert report == [{"name": "Our Derm", "answers": 1, "average": 5.0}]
        assert list(RatingMonthFigures.objects.values_list("practice__name", flat=True)) == ["Our Derm"]
    with pytest.raises(ScopeError):
        list(RatingMonthFigures.objects.all())  # no spa in scope: refused, never every spa's rows


# --- rebuild ----------------------------------------------------------------------------------------------------


def test_the_rebuild_command_repairs_and_checks(spa, owner, other_spa, capsys):
    practice = PracticeFactory(spa=spa)
    answer(spa, owner, practice=practice, score=4, at=datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK))
    with scope(spa=spa):
        RatingMonthFigures.objects.filter(spa=spa).update(answers=7)  # drifted
        RatingMonthFigures.objects.create(spa=spa, practice=practice, month=datetime.date(2025, 1, 1), answers=2)
    call_command("rebuild_follow_up_ratings", "--check", "--spa", other_spa.slug)  # that one is right
    with pytest.raises(CommandError, match="1 spa"):
        call_command("rebuild_follow_up_ratings", "--check")
    out = capsys.readouterr().out
    assert "serene-test: 2 rows differ" in out and "outsider-wellness" not in out
    with scope(spa=spa):
        assert RatingMonthFigures.objects.filter(spa=spa).count() == 2  # --check changed nothing
    call_command("rebuild_follow_up_ratings", "--spa", "serene-test")
    call_command("rebuild_follow_up_ratings", "--check")
    with scope(spa=spa):
        assert list(RatingMonthFigures.objects.values_list("month", "answers", "score_sum")) == [
            (datetime.date(2026, 3, 1), 1, 4)
        ]
    with pytest.raises(CommandError, match="No spa"):
        call_command("rebuild_follow_up_ratings", "--spa", "nowhere")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_patients_answering_at_once_all_count_even_during_a_rebuild():
    """Eight patients of one practice answer at the same moment, a rebuild runs among them: each counts once."""
    spa = SpaFactory(slug="busy-answers")
    owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory()).user
    practice = PracticeFactory(spa=spa)
    visit = datetime.datetime.now(tz=NEW_YORK) - datetime.timedelta(days=5)
    for _ in range(8):
        completed_referral(spa, owner, visit=visit, practice=practice, patient_email=_new_email())
    with scope(spa=spa):
        follow_ups = list(PatientFollowUp.objects.filter(spa=spa).order_by("pk"))
        assert follow_ups_send_due(spa=spa) == 8
    barrier = threading.Barrier(len(follow_ups) + 1)
    errors = []

    def submit(follow_up, score):
        try:
            barrier.wait(timeout=30)
            with scope(spa=spa):
                satisfaction_submit(follow_up=follow_up, score=score)
        except Exception as error:  # noqa: BLE001 - reported below, with the score
            errors.append((score, repr(error)))
        finally:
            connection.close()

    def rebuild():
        try:
            barrier.wait(timeout=30)
            with scope(spa=spa):
                ratings.rebuild(spa)
        except Exception as error:  # noqa: BLE001
            errors.append(("rebuild", repr(error)))
        finally:
            connection.close()

    scores = [1, 2, 3, 4, 5, 5, 4, 3]
    threads = [threading.Thread(target=submit, args=pair) for pair in zip(follow_ups, scores, strict=True)]
    threads.append(threading.Thread(target=rebuild))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with scope(spa=spa):
        assert SatisfactionResponse.objects.filter(spa=spa).count() == 8
        assert list(RatingMonthFigures.objects.values_list("answers", "score_sum")) == [(8, sum(scores))]
        assert ratings.differences(spa) == []


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_patients_answering_at_once_create_the_months_row_together():
    """Two answers, no rebuild, no row yet: both insert the same key at once; ON CONFLICT adds the second."""
    spa = SpaFactory(slug="two-at-once")
    owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory()).user
    practice = PracticeFactory(spa=spa)
    visit = datetime.datetime.now(tz=NEW_YORK) - datetime.timedelta(days=5)
    for _ in range(2):
        completed_referral(spa, owner, visit=visit, practice=practice, patient_email=_new_email())
    with scope(spa=spa):
        follow_ups = list(PatientFollowUp.objects.filter(spa=spa).order_by("pk"))
        follow_ups_send_due(spa=spa)
    barrier = threading.Barrier(2)
    errors = []

    def submit(follow_up, score):
        try:
            barrier.wait(timeout=30)
            with scope(spa=spa):
                satisfaction_submit(follow_up=follow_up, score=score)
        except Exception as error:  # noqa: BLE001
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=(follow_ups[0], 2)),
        threading.Thread(target=submit, args=(follow_ups[1], 5)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with scope(spa=spa):
        assert list(RatingMonthFigures.objects.values_list("answers", "score_sum")) == [(2, 7)]
