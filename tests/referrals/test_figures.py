"""The referral figures (referrals/figures.py) stay equal to a count from scratch whatever happens to referrals.

A seeded random history drives the real services over two spas in two time zones, several practices and
clinicians and a few months of a moving clock: referrals from the staff form's service, the portal, the
landing page and the API; accepting, declining, contact attempts, booking, completing, no-shows,
cancelling, the practice withdrawing; archiving and restoring; practices merged, a specialty corrected, a
clinician deleted, a service's price changed, the spa's time zone changed; the retention purge and an
erasure. Every so often the kept rows are compared with ``figures.computed`` (one GROUP BY per table over the
referrals): the maintenance, written in Python, and the rebuild, written in SQL, must agree. Take out any one
maintenance call and this fails (the module's ``EXERCISED`` check makes sure every kind of write ran).
"""

import datetime
import random
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from partners import services as partner_services
from partners.models import Clinician, Practice
from referrals import figures, inbox_services, services
from referrals.figure_models import ReferralDayFigures, ReferralStatusCount
from referrals.intake.services import landing_referral_create
from referrals.models import TRANSITIONS, Referral, ReferralEvent, Status
from referrals.patient_rights.services import closed_referrals_purge, patient_erase
from referrals.portal.services import portal_referral_create, portal_referral_withdraw
from spas import catalog
from spas import services as spa_services
from spas.models import Role, Service, Spa

from ..conftest import postgres_only
from ..factories import (
    ClinicianFactory,
    MembershipFactory,
    PortalAccessFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ServiceFactory,
    SpaFactory,
    UserFactory,
)
from .api_helpers import REFERRALS_URL, api_setup, post_json, referral_body

UTC = datetime.UTC
START = datetime.datetime(2026, 9, 20, 14, 0, tzinfo=UTC)  # crosses month ends and the end of daylight time
SPECIALTIES = ["dermatology", "ob_gyn", "physical_therapy", "oncology"]
PATIENT = {"patient_first_name": "Ruth", "patient_last_name": "Random", "patient_phone": "(617) 555-0142"}

# How often each kind of write is picked.
WRITES = {
    "staff_create": 14,
    "portal_create": 5,
    "landing_create": 5,
    "api_create": 2,
    "transition": 30,
    "attempt": 14,
    "withdraw": 2,
    "archive": 3,
    "restore": 2,
    "merge": 1,
    "specialty": 1,
    "clinician_delete": 1,
    "price": 1,
    "timezone": 0.5,
    "purge": 1,
    "erase": 1,
}
# Each history must have done each of these at least once, or a missing maintenance call could go unnoticed.
EXERCISED = set(WRITES) - {"timezone"}


class History:
    """One spa's side of the random history: its people and catalog, and one method per kind of write."""

    def __init__(self, rng, spa):
        self.rng = rng
        self.spa = spa
        self.owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory()).user
        with scope(spa=spa):
            self.services = [ServiceFactory(spa=spa, price=Decimal(price)) for price in ("95.00", "120.00", "60.00")]
            for specialty in SPECIALTIES:
                self._new_practice(specialty)

    def _new_practice(self, specialty):
        practice = PracticeFactory(spa=self.spa, specialty=specialty)
        for _ in range(2):
            ClinicianFactory(spa=self.spa, practice=practice)
        return practice

    # --- picking ---------------------------------------------------------------------------------------------

    def practices(self):
        return list(Practice.objects.filter(spa=self.spa).order_by("pk"))

    def practice(self):
        return self.rng.choice(self.practices())

    def clinician_of(self, practice):
        clinicians = list(Clinician.objects.filter(spa=self.spa, practice=practice).order_by("pk"))
        return self.rng.choice([None, *clinicians])

    def referral(self, **filters):
        referrals = list(Referral.objects.filter(spa=self.spa, **filters).order_by("pk"))
        return self.rng.choice(referrals) if referrals else None

    # --- creating ---------------------------------------------------------------------------------------------

    def staff_create(self):
        practice = self.practice()
        return services.referral_create(
            spa=self.spa,
            practice=practice,
            clinician=self.clinician_of(practice),
            channel=self.rng.choice(["phone", "fax", "email", "walk_in"]),
            patient=PATIENT,
            consent_method="verbal",
            consent_captured_by="Front desk",
            created_by=self.owner,
            notify=False,
        )

    def portal_create(self):
        practice = self.practice()
        access = PortalAccessFactory(spa=self.spa, practice=practice, user=UserFactory())
        return portal_referral_create(
            access=access,
            patient=PATIENT,
            details={"reason_category": "other"},
            clinician=self.clinician_of(practice),
            patient_agreed=True,
        )

    def landing_create(self):
        practice = self.practice()
        code = ReferralCodeFactory(spa=self.spa, practice=practice, clinician=self.clinician_of(practice))
        return landing_referral_create(
            referral_code=code, patient={**PATIENT, "preferred_contact_method": "phone"}, details={}
        )

    def api_create(self):
        setup = api_setup(self.spa, practice=self.practice())
        with scopes_disabled():  # a request of its own: the API key names the spa
            response = post_json(setup.client, REFERRALS_URL, referral_body(reason_category="other"))
        assert response.status_code == 201, response.content
        return response

    # --- working a referral -----------------------------------------------------------------------------------

    def transition(self):
        referral = self.referral(status__in=[status for status, moves in TRANSITIONS.items() if moves])
        if referral is None:
            return None
        to_status = self.rng.choice(sorted(TRANSITIONS[referral.status]))
        extra = {}
        if to_status == Status.DECLINED:
            extra["reason"] = "Outside our services"
        if to_status == Status.SCHEDULED:
            extra["scheduled_for"] = max(referral.received_at, START) + datetime.timedelta(days=self.rng.randint(1, 9))
            extra["service"] = self.rng.choice([None, *self.services])
        return services.referral_transition(referral=referral, to_status=to_status, actor=self.owner, **extra)

    def attempt(self):
        referral = self.referral(status__in=[Status.ACCEPTED, Status.CONTACTED, Status.UNREACHABLE])
        if referral is None:
            return None
        outcome = self.rng.choice(ReferralEvent.Outcome.values)
        return services.referral_log_attempt(referral=referral, outcome=outcome, actor=self.owner)

    def withdraw(self):
        referral = self.referral(status=Status.RECEIVED)
        if referral is None:
            return None
        access = PortalAccessFactory(spa=self.spa, practice=referral.practice, user=UserFactory())
        return portal_referral_withdraw(access=access, referral=referral, reason="Patient went elsewhere")

    def archive(self):
        referral = self.referral(archived_at=None)
        if referral is None:
            return None
        return inbox_services.referrals_archive(spa=self.spa, referrals=[referral], reason="test", actor=self.owner)

    def restore(self):
        referral = self.referral(archived_at__isnull=False)
        if referral is None:
            return None
        return inbox_services.referrals_restore(spa=self.spa, referrals=[referral], actor=self.owner)

    # --- what the partners and catalog pages change -----------------------------------------------------------

    def merge(self):
        practices = self.practices()
        if len(practices) < 3:
            return None
        survivor, merged = self.rng.sample(practices, 2)
        result = partner_services.practice_merge(survivor=survivor, merged=merged, actor=self.owner)
        self._new_practice(self.rng.choice(SPECIALTIES))  # keep a few practices to refer from
        return result

    def specialty(self):
        practice = self.practice()
        others = [specialty for specialty in SPECIALTIES if specialty != practice.specialty]
        return partner_services.practice_update(
            practice=practice, actor=self.owner, fields={"specialty": self.rng.choice(others)}
        )

    def clinician_delete(self):
        clinicians = list(Clinician.objects.filter(spa=self.spa, referrals__isnull=False).distinct().order_by("pk"))
        if not clinicians:
            return None
        clinician = self.rng.choice(clinicians)
        partner_services.clinician_delete(clinician=clinician, actor=self.owner)
        ClinicianFactory(spa=self.spa, practice=clinician.practice)
        return clinician

    def price(self):
        service = Service.objects.get(pk=self.rng.choice(self.services).pk)
        service.price += Decimal(self.rng.choice([-5, 5, 10]))
        return catalog.catalog_item_save(spa=self.spa, item=service, actor=self.owner)

    def timezone(self):
        spa = Spa.objects.get(pk=self.spa.pk)
        zone = "America/Los_Angeles" if spa.timezone == "America/New_York" else "America/New_York"
        self.spa = spa_services.spa_update(spa=spa, actor=self.owner, timezone=zone)
        return self.spa

    # --- what the patient-rights pages and the retention job change (health fields only) --------------------

    def purge(self):
        services.referral_settings_update(spa=self.spa, actor=self.owner, fields={"health_retention_months": 1})
        return closed_referrals_purge(spa=self.spa) or None

    def erase(self):
        referral = self.referral(health_fields_purged_at=None)
        if referral is None:
            return None
        return patient_erase(spa=self.spa, referrals=[referral], actor=self.owner, request_channel="email")


def assert_figures_match_a_recount(histories, step):
    for history in histories:
        with scope(spa=history.spa):
            assert figures.differences(history.spa) == [], f"after step {step} in {history.spa.slug}"


def play(seed, steps):
    """A random history of ``steps`` writes; returns how many of each kind happened."""
    rng = random.Random(seed)
    spas = [
        SpaFactory(slug=f"random-{seed}-east", timezone="America/New_York"),
        SpaFactory(slug=f"random-{seed}-west", timezone="America/Los_Angeles"),
    ]
    histories = [History(rng, spa) for spa in spas]
    done = Counter()
    clock = START
    kinds, weights = list(WRITES), list(WRITES.values())
    for step in range(steps):
        clock += datetime.timedelta(minutes=rng.randint(20, 14 * 60))
        history = rng.choice(histories)
        kind = rng.choices(kinds, weights)[0]
        with freeze_time(clock), scope(spa=history.spa):
            try:
                result = getattr(history, kind)()
            except ValidationError:
                result = None  # refused (two practices' records that cannot be combined…): nothing changed
        if result is not None:
            done[kind] += 1
        if step % 50 == 49:
            assert_figures_match_a_recount(histories, step)
    assert_figures_match_a_recount(histories, steps)
    return done


@pytest.mark.parametrize("seed", [15, 2026])
def test_random_histories_keep_the_figures_equal_to_a_recount(db, seed):
    done = play(seed, steps=420)
    assert not EXERCISED - set(done), f"never exercised: {EXERCISED - set(done)}"


def test_a_time_zone_change_counts_the_days_again(db):
    """The spa's days and months are its own: moving the spa to Tokyo moves an evening referral to the next day."""
    spa = SpaFactory(timezone="America/New_York")
    history = History(random.Random(1), spa)
    with freeze_time("2026-10-02 02:30:00"), scope(spa=spa):  # 22:30 on October 1 in New York
        history.staff_create()
        assert set(ReferralDayFigures.objects.values_list("day", flat=True)) == {datetime.date(2026, 10, 1)}
        history.timezone()  # Los Angeles: 19:30 on October 1, the same day
        assert set(ReferralDayFigures.objects.values_list("day", flat=True)) == {datetime.date(2026, 10, 1)}
        tokyo = spa_services.spa_update(spa=Spa.objects.get(pk=spa.pk), actor=history.owner, timezone="Asia/Tokyo")
        assert set(ReferralDayFigures.objects.values_list("day", flat=True)) == {datetime.date(2026, 10, 2)}  # 11:30
        assert figures.differences(tokyo) == []


def test_the_demo_data_leaves_the_figures_right(db):
    from partners.demo import seed_partners
    from referrals.demo import seed_referrals
    from spas.demo import seed_catalog, seed_spas

    spas = {spa.slug: spa for spa, _logins in seed_spas()}
    for spa in spas.values():
        seed_catalog(spa)
    seed_partners(spas)
    seed_referrals(spas)
    for spa in spas.values():
        with scope(spa=spa):
            assert figures.differences(spa) == []
    with scope(spa=spas["serenity-spa"]):
        assert ReferralStatusCount.objects.filter(spa=spas["serenity-spa"]).exists()


def test_the_rebuild_command_repairs_and_checks(db, spa, other_spa, capsys):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa)
        services.referral_create(
            spa=spa,
            practice=practice,
            channel="phone",
            patient=PATIENT,
            consent_method="verbal",
            consent_captured_by="Front desk",
            notify=False,
        )
        ReferralStatusCount.objects.filter(spa=spa).update(referrals=7)  # drifted (a hand-made fix gone wrong)
    with pytest.raises(CommandError, match="1 spa"):
        call_command("rebuild_referral_figures", "--check")
    assert "serene-test" in capsys.readouterr().out
    call_command("rebuild_referral_figures", "--spa", "serene-test")
    call_command("rebuild_referral_figures", "--check")
    with scope(spa=spa):
        assert list(ReferralStatusCount.objects.values_list("status", "referrals")) == [("received", 1)]
    with pytest.raises(CommandError, match="No spa"):
        call_command("rebuild_referral_figures", "--spa", "nowhere")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_referrals_on_the_same_day_are_all_counted():
    """Twelve front desks send a referral at the same moment, and a rebuild runs among them: every one counts once."""
    spa = SpaFactory(slug="busy-day")
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa)
    thread_count = 12
    barrier = threading.Barrier(thread_count + 1)
    errors = []

    def create(index):
        try:
            barrier.wait(timeout=30)
            with scope(spa=spa):
                services.referral_create(
                    spa=spa,
                    practice=practice,
                    channel="phone",
                    patient={**PATIENT, "patient_first_name": f"Patient {index}"},
                    consent_method="verbal",
                    consent_captured_by="Front desk",
                    notify=False,
                )
        except Exception as error:  # noqa: BLE001 - reported below, with the thread's index
            errors.append((index, repr(error)))
        finally:
            connection.close()

    def rebuild():
        try:
            barrier.wait(timeout=30)
            with scope(spa=spa):
                figures.rebuild(spa)
        except Exception as error:  # noqa: BLE001
            errors.append(("rebuild", repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(index,)) for index in range(thread_count)]
    threads.append(threading.Thread(target=rebuild))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with scope(spa=spa):
        assert Referral.objects.filter(spa=spa).count() == thread_count
        assert list(ReferralStatusCount.objects.values_list("status", "referrals")) == [("received", thread_count)]
        assert sum(ReferralDayFigures.objects.values_list("received", flat=True)) == thread_count
        assert figures.differences(spa) == []
