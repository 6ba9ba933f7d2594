"""Partner health kept per partner (outreach/health/snapshots.py): the rows stay what a fresh assessment gives,
whatever is written; the day turning is caught by the job or by the dashboard itself; the dashboard shows
exactly what the live partner health list shows, without assessing every partner.

The randomized history drives the real services (and a few views) over two spas in two time zones for about
eight months of a moving clock: touchpoints logged (on the practice's page too), removed and brought back,
tasks done and undone, check-in cadences, the spa's default cadence, practices created, moved in the pipeline
(on the board too), renamed and merged, referrals received and worked to completion. Every few steps each
spa's rows are compared with a fresh assessment *for the day each row says it was assessed for*: a write that
forgot to refresh leaves a row that no longer matches its own day. Take out one of the refreshes and this
fails (``EXERCISED`` makes sure every kind of write ran).
"""

import datetime
import random
import threading
import time
import zoneinfo
from collections import Counter, defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError
from freezegun import freeze_time

from infra.models import AuditEvent
from insights.dashboard import ATTENTION_PER_KIND, dashboard_figures
from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.health import checkins
from outreach.health import snapshots as health_snapshots
from outreach.health.selectors import HEALTH_STAGES, HealthStatus, partner_health_list
from outreach.models import CheckInCadence, PartnerHealthSnapshot, Task, TaskKind, Touchpoint, TouchpointKind
from outreach.tasks import partner_health_refresh_task
from partners import services as partner_services
from partners.models import Practice, Stage
from referrals import services as referral_services
from referrals.models import TRANSITIONS, Referral, Status
from spas import services as spa_services
from spas.models import Role, Spa
from tests.conftest import postgres_only
from tests.factories import MembershipFactory, PracticeFactory, ReferralFactory, SpaFactory, UserFactory

UTC = datetime.UTC
START = datetime.datetime(2026, 1, 12, 15, 0, tzinfo=UTC)
PATIENT = {"patient_first_name": "Ruth", "patient_last_name": "Random", "patient_phone": "(617) 555-0142"}
# Names that tie but for case and accents, so the order by name is Python's (code points), not a collation's.
NAMES = [
    "Élan OB",
    "élan ob",
    "Elan OB",
    "Birch PT",
    "birch pt",
    "Zeta Physio",
    "Ängel Derm",
    "angel derm",
    "Ost Chiro",
]
STAGES = [Stage.ACTIVE, Stage.ACTIVE, Stage.TRIAL, Stage.TRIAL, Stage.DORMANT, Stage.MEETING, Stage.DECLINED]

# How often each kind of write is picked.
WRITES = {
    "touchpoint": 16,
    "touchpoint_on_the_page": 4,
    "touchpoint_delete": 5,
    "touchpoint_restore": 3,
    "task_done": 4,
    "task_undone": 2,
    "cadence": 4,
    "default_cadence": 1,
    "stage": 8,
    "stage_on_the_board": 3,
    "rename": 3,
    "create_practice": 2,
    "merge": 3,
    "referral": 18,
    "referral_worked": 18,
}
EXERCISED = set(WRITES)


class History:
    """One spa's side of the random history: its owner and practices, one method per kind of write."""

    def __init__(self, rng, spa):
        self.rng = rng
        self.spa = spa
        self.owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory()).user
        self.client = Client()
        self.client.force_login(self.owner)
        for _ in range(6):
            self.create_practice()

    # --- picking ---------------------------------------------------------------------------------------------

    def practices(self, **filters):
        return list(Practice.objects.filter(spa=self.spa, **filters).order_by("pk"))

    def practice(self, **filters):
        practices = self.practices(**filters)
        return self.rng.choice(practices) if practices else None

    def today(self):
        return activity_selectors.spa_today(self.spa)

    def some_day(self):
        """A day up to 150 days back; now and then tomorrow (a touchpoint may be logged a day ahead)."""
        if self.rng.random() < 0.05:
            return self.today() + datetime.timedelta(days=1)
        return self.today() - datetime.timedelta(days=self.rng.choice([0, 0, 3, 20, 45, 70, 100, 150]))

    # --- outreach ---------------------------------------------------------------------------------------------

    def touchpoint(self):
        return activity_services.touchpoint_log(
            spa=self.spa,
            practice=self.practice(),
            kind=self.rng.choice([TouchpointKind.PHONE_CALL, TouchpointKind.CHECK_IN, TouchpointKind.EMAIL]),
            occurred_on=self.some_day(),
            actor=self.owner,
        )

    def touchpoint_on_the_page(self):
        practice = self.practice()
        address = reverse("outreach:touchpoint_log", args=[self.spa.slug, practice.public_id])
        kind = self.rng.choice([TouchpointKind.CHECK_IN, TouchpointKind.MEETING])
        with scopes_disabled():  # a request of its own: the middleware scopes it
            response = self.client.post(address, {"kind": kind, "occurred_on": self.some_day().isoformat()})
        assert response.status_code == 302, response.content
        return response

    def touchpoint_delete(self):
        touchpoints = list(Touchpoint.objects.filter(spa=self.spa).order_by("pk"))
        if not touchpoints:
            return None
        activity_services.touchpoint_delete(touchpoint=self.rng.choice(touchpoints), actor=self.owner)
        return True

    def touchpoint_restore(self):
        """Remove a touchpoint, then the toast's Undo brings it back."""
        if not self.touchpoint_delete():
            return None
        removal = AuditEvent.objects.filter(spa=self.spa, action="touchpoint.deleted").order_by("-id").first()
        return activity_services.touchpoint_restore(spa=self.spa, removal=removal, actor=self.owner)

    def task_done(self):
        task, _created = activity_services.task_create(
            spa=self.spa,
            title="Call them",
            due_on=self.today(),
            kind=TaskKind.PHONE_CALL,
            practice=self.practice(),
            assignee=self.owner,
            created_by=self.owner,
        )
        return activity_services.task_complete(task=task, actor=self.owner)

    def task_undone(self):
        tasks = list(Task.objects.filter(spa=self.spa, done_at__isnull=False, touchpoint__isnull=False).order_by("pk"))
        if not tasks:
            return None
        return activity_services.task_reopen(task=self.rng.choice(tasks), actor=self.owner)

    def cadence(self):
        practice = self.practice(stage=Stage.ACTIVE)
        if practice is None:
            return None
        days = self.rng.choice([None, 14, 30, 60, 200])
        return checkins.check_in_cadence_set(practice=practice, cadence_days=days, actor=self.owner)

    def default_cadence(self):
        days = self.rng.choice([30, 60, 91, 120])
        return activity_services.outreach_settings_update(
            spa=self.spa, actor=self.owner, fields={"check_in_cadence_days": days}
        )

    # --- partners ---------------------------------------------------------------------------------------------

    def create_practice(self):
        stage = self.rng.choice([Stage.ACTIVE, Stage.TRIAL, Stage.PROSPECT])
        return partner_services.practice_create(
            spa=self.spa,
            actor=self.owner,
            fields={"name": self.rng.choice(NAMES), "specialty": "dermatology", "stage": stage},
        )

    def stage(self):
        practice = self.practice()
        stage = self.rng.choice([stage for stage in STAGES if stage != practice.stage])
        reason = "Too busy" if stage == Stage.DECLINED else ""
        return partner_services.practice_move_stage(practice=practice, to_stage=stage, actor=self.owner, reason=reason)

    def stage_on_the_board(self):
        practice = self.practice(stage__in=[Stage.ACTIVE, Stage.TRIAL, Stage.MEETING])
        if practice is None:
            return None
        stage = Stage.DORMANT if practice.stage in HEALTH_STAGES else Stage.TRIAL
        address = reverse("partners:move_stage", args=[self.spa.slug, practice.public_id])
        with scopes_disabled():
            response = self.client.post(address, {"stage": stage, "from": "board"}, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 204), response.content
        return response

    def rename(self):
        return partner_services.practice_update(
            practice=self.practice(), actor=self.owner, fields={"name": self.rng.choice(NAMES)}
        )

    def merge(self):
        practices = self.practices()
        if len(practices) < 4:
            return None
        survivor, merged = self.rng.sample(practices, 2)
        if self.rng.random() < 0.5:  # now and then one that never referred: only its touchpoints move over
            merged = self.practice(referrals__isnull=True) or merged
        if survivor.pk == merged.pk:
            return None
        with_cadence = set(CheckInCadence.objects.filter(spa=self.spa).values_list("practice_id", flat=True))
        if survivor.pk in with_cadence and merged.pk in with_cadence:
            return None  # two check-in rhythms cannot be combined (the merge refuses)
        try:
            return partner_services.practice_merge(survivor=survivor, merged=merged, actor=self.owner)
        except ValidationError as error:  # two partners' health rows must never stop a merge
            raise AssertionError(f"the merge was refused: {error}") from error

    # --- referrals --------------------------------------------------------------------------------------------

    def referral(self):
        return referral_services.referral_create(
            spa=self.spa,
            practice=self.practice(),
            channel="phone",
            patient=PATIENT,
            consent_method="verbal",
            consent_captured_by="Front desk",
            created_by=self.owner,
            notify=False,
        )

    def referral_worked(self):
        """One step along the way to completed (or off it)."""
        movable = [status for status, moves in TRANSITIONS.items() if moves]
        referrals = list(Referral.objects.filter(spa=self.spa, status__in=movable).order_by("pk"))
        if not referrals:
            return None
        referral = self.rng.choice(referrals)
        ahead = {
            Status.RECEIVED: Status.ACCEPTED,
            Status.ACCEPTED: Status.CONTACTED,
            Status.CONTACTED: Status.SCHEDULED,
            Status.SCHEDULED: Status.COMPLETED,
            Status.NO_SHOW: Status.SCHEDULED,
            Status.UNREACHABLE: Status.CONTACTED,
        }[referral.status]
        to_status = ahead if self.rng.random() < 0.85 else self.rng.choice(sorted(TRANSITIONS[referral.status]))
        extra = {}
        if to_status == Status.DECLINED:
            extra["reason"] = "Outside our services"
        if to_status == Status.SCHEDULED:
            extra["scheduled_for"] = datetime.datetime.now(UTC) + datetime.timedelta(days=2)
        return referral_services.referral_transition(referral=referral, to_status=to_status, actor=self.owner, **extra)


def assert_rows_match_an_assessment(spa, step=None):
    """The spa's rows: one per trial and active partner, each what a fresh assessment gives for its own day.
    Returns the statuses seen."""
    spa = Spa.objects.get(pk=spa.pk)
    with scope(spa=spa):
        kept = health_snapshots.kept(spa)
        partners = set(Practice.objects.filter(spa=spa, stage__in=HEALTH_STAGES).values_list("pk", flat=True))
        assert set(kept) == partners, f"after step {step} in {spa.slug}"
        by_day = defaultdict(list)
        for practice_id, values in kept.items():
            by_day[values["assessed_on"]].append(practice_id)
        for day, practice_ids in sorted(by_day.items()):
            noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=zoneinfo.ZoneInfo(spa.timezone))
            fresh = health_snapshots.assessed(spa, now=noon, practice_ids=practice_ids)
            assert {practice_id: kept[practice_id] for practice_id in practice_ids} == fresh, (
                f"after step {step} in {spa.slug}, rows of {day}"
            )
    return {values["status"] for values in kept.values()}


def play(seed, steps):
    """A random history of ``steps`` writes; returns how many of each kind happened."""
    rng = random.Random(seed)
    spas = [
        SpaFactory(slug=f"health-{seed}-east", timezone="America/New_York"),
        SpaFactory(slug=f"health-{seed}-west", timezone="America/Los_Angeles"),
    ]
    clock = START
    with freeze_time(clock):
        histories = []
        for spa in spas:
            with scope(spa=spa):
                histories.append(History(rng, spa))
    done = Counter()
    kinds, weights = list(WRITES), list(WRITES.values())
    for step in range(steps):
        # Mostly hours and days apart (eight months in all), now and then minutes (an Undo within the hour).
        if rng.random() < 0.2:
            clock += datetime.timedelta(minutes=rng.randint(2, 50))
        else:
            clock += datetime.timedelta(hours=rng.randint(1, 60))
        history = rng.choice(histories)
        kind = rng.choices(kinds, weights)[0]
        with freeze_time(clock), scope(spa=history.spa):
            try:
                result = getattr(history, kind)()
            except ValidationError:
                result = None  # refused (an Undo too late, a touchpoint already back…): nothing changed
        if result is not None:
            done[kind] += 1
        if step % 10 == 9 or step == steps - 1:
            with freeze_time(clock):
                for each in histories:
                    done.update(f"status {status}" for status in assert_rows_match_an_assessment(each.spa, step))
    return done


@pytest.mark.parametrize("seed", [15, 2026])
def test_random_histories_keep_every_partner_s_row_equal_to_a_fresh_assessment(db, seed):
    done = play(seed, steps=320)
    assert not EXERCISED - set(done), f"never exercised: {EXERCISED - set(done)}"
    # Rows of every status were compared (not only healthy partners with healthy rows).
    assert {f"status {status}" for status in HealthStatus.values} <= set(done)


# --- the writes one by one --------------------------------------------------------------------------------------


@pytest.fixture
def partner_world(spa, owner):
    """Two active partners with a touchpoint each and a trial partner, on April 10, 2026."""
    with freeze_time("2026-04-10 15:00:00"), scope(spa=spa):
        made = {
            name: partner_services.practice_create(
                spa=spa, actor=owner, fields={"name": name, "specialty": "dermatology", "stage": stage}
            )
            for name, stage in [("Glow Derm", Stage.ACTIVE), ("Bright OB", Stage.ACTIVE), ("New PT", Stage.TRIAL)]
        }
        for name in ("Glow Derm", "Bright OB"):
            activity_services.touchpoint_log(
                spa=spa,
                practice=made[name],
                kind=TouchpointKind.PHONE_CALL,
                occurred_on=datetime.date(2026, 4, 1),
                actor=owner,
            )
    return made


def rows_of(spa):
    with scope(spa=spa):
        return {
            row.practice_id: row for row in PartnerHealthSnapshot.objects.filter(spa=spa).select_related("practice")
        }


def test_a_merge_of_two_partners_leaves_one_row_with_both_histories(spa, owner, partner_world):
    glow, bright = partner_world["Glow Derm"], partner_world["Bright OB"]
    with freeze_time("2026-04-12 15:00:00"), scope(spa=spa):
        activity_services.touchpoint_log(
            spa=spa, practice=bright, kind=TouchpointKind.MEETING, occurred_on=datetime.date(2026, 4, 11), actor=owner
        )
        partner_services.practice_merge(survivor=glow, merged=bright, actor=owner)
    rows = rows_of(spa)
    assert set(rows) == {glow.pk, partner_world["New PT"].pk}
    assert rows[glow.pk].silence_days == 1  # the merged practice's meeting yesterday is the survivor's now
    with freeze_time("2026-04-12 15:00:00"):
        assert_rows_match_an_assessment(spa)


def test_leaving_trial_and_active_removes_the_row_and_coming_back_restores_it(spa, owner, partner_world):
    glow = partner_world["Glow Derm"]
    with freeze_time("2026-04-12 15:00:00"), scope(spa=spa):
        partner_services.practice_move_stage(practice=glow, to_stage=Stage.DORMANT, actor=owner)
        assert glow.pk not in rows_of(spa)
        partner_services.practice_move_stage(practice=glow, to_stage=Stage.ACTIVE, actor=owner)
    assert rows_of(spa)[glow.pk].assessed_on == datetime.date(2026, 4, 12)
    with freeze_time("2026-04-12 15:00:00"):
        assert_rows_match_an_assessment(spa)


def test_an_import_gives_the_imported_partners_their_rows(spa, owner):
    from partners.csv_import import import_commit
    from partners.models import PracticeImport

    content = "name,specialty,stage\nImported Derm,dermatology,active\nImported Prospect,dermatology,prospect\n"
    with scope(spa=spa):
        practice_import = PracticeImport.objects.create(
            spa=spa,
            filename="partners.csv",
            content=content,
            mapping={"name": 0, "specialty": 1, "stage": 2},
        )
        import_commit(practice_import=practice_import, actor=owner)
        imported = Practice.objects.get(spa=spa, name="Imported Derm")
    assert list(rows_of(spa)) == [imported.pk]
    assert_rows_match_an_assessment(spa)


def test_the_default_cadence_reassesses_every_active_partner(spa, owner, partner_world):
    """On July 30 the partners made active on April 10 are 111 days in: overdue at 91 days, not at 120."""
    with freeze_time("2026-07-30 15:00:00"), scope(spa=spa):
        health_snapshots.refresh_spa(spa=spa)
        overdue = {row.practice.name: row.silence_days for row in rows_of(spa).values()}
        activity_services.outreach_settings_update(spa=spa, actor=owner, fields={"check_in_cadence_days": 120})
        relaxed = {row.practice.name: row.silence_days for row in rows_of(spa).values()}
    # Silence is the days since the last contact plus the days the check-in is overdue.
    assert overdue == {"Glow Derm": 120 + 20, "Bright OB": 120 + 20, "New PT": 111}
    assert relaxed == {"Glow Derm": 120, "Bright OB": 120, "New PT": 111}


def test_a_time_zone_change_assesses_every_partner_for_the_new_calendar(spa, owner, partner_world):
    """At 22:30 on April 20 in New York it is already April 21 in Tokyo."""
    with freeze_time("2026-04-21 02:30:00"), scope(spa=spa):
        health_snapshots.refresh_spa(spa=spa)
        assert {row.assessed_on for row in rows_of(spa).values()} == {datetime.date(2026, 4, 20)}
        spa_services.spa_update(spa=Spa.objects.get(pk=spa.pk), actor=owner, timezone="Asia/Tokyo")
        assert {row.assessed_on for row in rows_of(spa).values()} == {datetime.date(2026, 4, 21)}
        assert health_snapshots.differences(Spa.objects.get(pk=spa.pk)) == []


def test_a_rename_moves_the_partner_in_the_order(spa, owner, partner_world):
    with freeze_time("2026-04-12 15:00:00"), scope(spa=spa):
        partner_services.practice_update(practice=partner_world["New PT"], actor=owner, fields={"name": "Ärzte PT"})
    assert rows_of(spa)[partner_world["New PT"].pk].sort_name == "ärzte pt"


# --- the day turns --------------------------------------------------------------------------------------------


@pytest.fixture
def quiet_partner(spa, owner):
    """A trial partner since February 9, 2026, last contacted on March 5; assessed on April 20 (healthy)."""
    with freeze_time("2026-02-09 15:00:00"), scope(spa=spa):
        practice = partner_services.practice_create(
            spa=spa, actor=owner, fields={"name": "Quiet Derm", "specialty": "dermatology", "stage": Stage.TRIAL}
        )
    with freeze_time("2026-04-20 15:00:00"), scope(spa=spa):
        activity_services.touchpoint_log(
            spa=spa, practice=practice, kind=TouchpointKind.EMAIL, occurred_on=datetime.date(2026, 3, 5), actor=owner
        )
    return practice


def test_the_job_assesses_a_spa_again_once_its_day_has_turned(spa, other_spa, quiet_partner):
    row = rows_of(spa)[quiet_partner.pk]
    assert (row.status, row.assessed_on) == (HealthStatus.HEALTHY, datetime.date(2026, 4, 20))
    # 23:50 in New York: still April 20 there; nothing to do.
    with freeze_time("2026-04-21 03:50:00"):
        assert partner_health_refresh_task() == 0
    # Ten days on, 00:15 in New York on May 10: 66 days without contact, 90 days in trial without a referral.
    with freeze_time("2026-05-10 04:15:00"):
        assert health_snapshots.stale_spa_ids() == [spa.pk]
        assert partner_health_refresh_task() == 1
        assert partner_health_refresh_task() == 0  # a second beat finds nothing to do
    row = rows_of(spa)[quiet_partner.pk]
    assert (row.status, row.cooling_reasons, row.silence_days, row.assessed_on) == (
        HealthStatus.COOLING,
        2,
        66,
        datetime.date(2026, 5, 10),
    )
    with freeze_time("2026-05-10 04:15:00"):
        assert_rows_match_an_assessment(spa)


def test_the_dashboard_never_shows_an_earlier_day_s_health_as_today_s(spa, owner, quiet_partner):
    """The job has not run yet: the dashboard assesses the spa itself."""
    with freeze_time("2026-05-10 04:15:00"), scope(spa=spa):
        shown = dashboard_figures(spa=spa, user=owner, fresh=True)["health_counts"]
        assert shown == partner_health_list(spa=spa)[1]
    assert shown[HealthStatus.COOLING] == 1
    assert rows_of(spa)[quiet_partner.pk].assessed_on == datetime.date(2026, 5, 10)


def test_the_dashboard_repairs_rows_written_behind_the_services_back(spa, owner, quiet_partner):
    with freeze_time("2026-04-20 16:00:00"), scope(spa=spa):
        PartnerHealthSnapshot.objects.filter(spa=spa).delete()
        assert dashboard_figures(spa=spa, user=owner, fresh=True)["health_counts"]["all"] == 1
        assert_rows_match_an_assessment(spa)


# --- the dashboard shows what the live list shows --------------------------------------------------------------


def varied_partners(spa, owner, rng):
    """Thirty practices: many at risk, ties broken only by names that differ in case and accents, referrals in
    the last 3 months and the 3 before, contacts and check-ins long ago and lately, own cadences."""
    at = datetime.datetime(2026, 6, 30, 15, 0, tzinfo=UTC)
    with scope(spa=spa):
        practices = []
        for index in range(30):
            stage = rng.choice([Stage.ACTIVE, Stage.ACTIVE, Stage.TRIAL, Stage.DORMANT])
            # Every third one joined the same day and has no history: ties on everything but the name.
            in_stage = 200 if index % 3 == 0 else rng.choice([20, 100, 200, 400])
            practice = PracticeFactory(
                spa=spa,
                name=rng.choice(NAMES) if index % 3 else NAMES[index % len(NAMES)],
                stage=stage,
                stage_changed_at=at - datetime.timedelta(days=in_stage),
            )
            practices.append(practice)
            if index % 3 == 0:
                continue
            for _ in range(rng.randint(0, 5)):
                ReferralFactory(
                    spa=spa,
                    practice=practice,
                    received_at=at - datetime.timedelta(days=rng.uniform(90, 180)),
                    status=rng.choice([Status.COMPLETED, Status.CANCELLED]),
                )
            for _ in range(rng.randint(0, 3)):
                ReferralFactory(
                    spa=spa,
                    practice=practice,
                    received_at=at - datetime.timedelta(days=rng.uniform(0, 80)),
                    status=rng.choice([Status.COMPLETED, Status.RECEIVED]),
                )
            with freeze_time(at):
                for _ in range(rng.randint(0, 2)):
                    activity_services.touchpoint_log(
                        spa=spa,
                        practice=practice,
                        kind=rng.choice([TouchpointKind.CHECK_IN, TouchpointKind.PHONE_CALL]),
                        occurred_on=at.date() - datetime.timedelta(days=rng.choice([5, 70, 130, 300])),
                        actor=owner,
                    )
                if stage == Stage.ACTIVE and rng.random() < 0.3:
                    checkins.check_in_cadence_set(practice=practice, cadence_days=rng.choice([30, 200]), actor=owner)
    return at


def partner_items(attention):
    return [(item.label, item.detail, item.url) for item in attention if item.kind == "partner"]


def live_items(spa, now):
    at_risk, counts = partner_health_list(spa=spa, status=HealthStatus.AT_RISK, now=now)
    return counts, [
        (
            f"{health.practice.name} is at risk",
            "; ".join(str(reason) for reason in health.at_risk_reasons[:2]),
            reverse("partners:detail", args=[spa.slug, health.practice.public_id]),
        )
        for health in at_risk[:ATTENTION_PER_KIND]
    ]


@pytest.mark.parametrize("seed", [1, 7, 15])
def test_the_dashboard_s_partner_health_is_the_live_list_s(spa, owner, seed):
    at = varied_partners(spa, owner, random.Random(seed))
    for now in (at, at + datetime.timedelta(days=45)):  # the same day, then a day the job has not reached yet
        with freeze_time(now), scope(spa=spa):
            shown = dashboard_figures(spa=spa, user=owner, fresh=True)
            counts, items = live_items(spa, now)
        assert shown["health_counts"] == counts
        assert counts[HealthStatus.AT_RISK] > ATTENTION_PER_KIND  # the cut to five matters
        assert partner_items(shown["attention"]) == items


def test_the_at_risk_order_breaks_ties_by_the_name_as_python_orders_it(spa, owner):
    """Equal in everything but the name: "Zeta Physio" before "Ängel Derm" and "élan ob" (code points, as Python
    sorts), where a language's collation would put them among the a's and e's."""
    joined = datetime.datetime(2025, 1, 10, 15, 0, tzinfo=UTC)
    with scope(spa=spa):
        for name in ["élan ob", "Zeta Physio", "Ängel Derm", "angel derm", "Birch PT", "birch pt", "Ost Chiro"]:
            PracticeFactory(spa=spa, name=name, stage=Stage.TRIAL, stage_changed_at=joined)
        with freeze_time("2026-04-20 15:00:00"):
            shown = dashboard_figures(spa=spa, user=owner, fresh=True)
    labels = [label for label, _detail, _url in partner_items(shown["attention"])]
    assert labels == [
        f"{name} is at risk" for name in ["angel derm", "Birch PT", "birch pt", "Ost Chiro", "Zeta Physio"]
    ]


# --- tenancy and the command ----------------------------------------------------------------------------------


def test_the_rows_are_a_tenant_s_own(spa, other_spa, owner, partner_world):
    with pytest.raises(ScopeError):
        PartnerHealthSnapshot.objects.count()
    with scope(spa=other_spa):
        assert not PartnerHealthSnapshot.objects.filter(spa=other_spa).exists()
    with scope(spa=spa):
        assert PartnerHealthSnapshot.objects.filter(spa=spa).count() == 3


def test_another_spa_s_partners_never_reach_the_dashboard(spa, other_spa, owner, outsider):
    joined = datetime.datetime(2025, 1, 10, 15, 0, tzinfo=UTC)
    with scope(spa=other_spa):
        PracticeFactory(spa=other_spa, name="Elsewhere Derm", stage=Stage.TRIAL, stage_changed_at=joined)
    with scope(spa=spa):
        PracticeFactory(spa=spa, name="Ours Derm", stage=Stage.TRIAL, stage_changed_at=joined)
        with freeze_time("2026-04-20 15:00:00"):
            shown = dashboard_figures(spa=spa, user=owner, fresh=True)
    assert [label for label, _detail, _url in partner_items(shown["attention"])] == ["Ours Derm is at risk"]
    assert shown["health_counts"]["all"] == 1


def test_the_rebuild_command_repairs_and_checks(spa, other_spa, partner_world, capsys):
    with freeze_time("2026-04-10 16:00:00"):
        with scope(spa=spa):
            PartnerHealthSnapshot.objects.filter(spa=spa).update(status=HealthStatus.AT_RISK)  # a hand-made fix
        with pytest.raises(CommandError, match="1 spa"):
            call_command("rebuild_partner_health", "--check")
        assert "serene-test: 3 partners differ" in capsys.readouterr().out
        call_command("rebuild_partner_health", "--spa", "serene-test")
        call_command("rebuild_partner_health", "--check")
    with pytest.raises(CommandError, match="No spa"):
        call_command("rebuild_partner_health", "--spa", "nowhere")


# --- writers at once ------------------------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_writes_at_once_at_one_partner_leave_its_row_as_a_fresh_assessment(monkeypatch):
    """Eight people log contacts with one partner at the same moment, two referrals arrive from it and the job
    refreshes the spa among them: every write waits for the one before, so the row is never an older reading."""
    read = health_snapshots.health_queryset

    def slow_read(**kwargs):
        practices = read(**kwargs)
        time.sleep(0.05)  # between reading and writing: where another writer could commit meanwhile
        return practices

    monkeypatch.setattr(health_snapshots, "health_queryset", slow_read)
    spa = SpaFactory(slug="busy-partner")
    owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory()).user
    with scope(spa=spa):
        practice = PracticeFactory(
            spa=spa, stage=Stage.ACTIVE, stage_changed_at=datetime.datetime(2025, 1, 5, 15, tzinfo=UTC)
        )
    barrier = threading.Barrier(11)
    errors = []

    def run(index, work):
        try:
            barrier.wait(timeout=30)
            with scope(spa=spa), transaction.atomic():
                work(index)
        except Exception as error:  # noqa: BLE001 - reported below, with the thread's index
            errors.append((index, repr(error)))
        finally:
            connection.close()

    def contact(index):
        activity_services.touchpoint_log(
            spa=spa,
            practice=practice,
            kind=TouchpointKind.CHECK_IN if index % 2 else TouchpointKind.PHONE_CALL,
            occurred_on=activity_selectors.spa_today(spa) - datetime.timedelta(days=10 * index),
            actor=owner,
        )

    def refer(index):
        referral_services.referral_create(
            spa=spa,
            practice=practice,
            channel="phone",
            patient={**PATIENT, "patient_first_name": f"Patient {index}"},
            consent_method="verbal",
            consent_captured_by="Front desk",
            notify=False,
        )

    def refresh(index):
        health_snapshots.refresh_spa(spa=spa)

    works = [contact] * 8 + [refer] * 2 + [refresh]
    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with scope(spa=spa):
        assert Touchpoint.objects.filter(spa=spa).count() == 8
        assert health_snapshots.differences(spa) == []


def test_the_demo_leaves_every_partner_s_row_right(db):
    from outreach.demo import seed_outreach
    from partners.demo import seed_partners
    from referrals.demo import seed_referrals
    from spas.demo import seed_catalog, seed_spas

    spas = {spa.slug: spa for spa, _logins in seed_spas()}
    for spa in spas.values():
        seed_catalog(spa)
    seed_partners(spas)
    seed_referrals(spas)
    seed_outreach(spas)
    for spa in spas.values():
        with scope(spa=spa):
            assert health_snapshots.differences(spa) == []
    with scope(spa=spas["serenity-spa"]):
        assert PartnerHealthSnapshot.objects.filter(spa=spas["serenity-spa"]).exists()
