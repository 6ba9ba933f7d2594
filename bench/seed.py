"""The benchmark's data set: many small spas and one big one, written straight with the models.

    BIG spa  "bench-big": 100,000 referrals over two years (more recent weight), 5,000 practices across every
             specialty and pipeline stage, 10,000 clinicians, 6,000 office contacts, a referral code per
             practice and per clinician of an active partner, 4,000 touchpoints, 3,000 tasks, a check-in cadence
             per active partner, a catalog with credentials (some expiring), 300 gifts (some recipients near or
             over the yearly limit).
             Also an API key of one active dermatology practice (BENCH_API_KEY) and 8 portal users, front desks of
             8 other active practices (the write rows of the table).
    20 small spas "bench-small-NN": 200–400 referrals and 25 practices each, the same shape.
    The check-in spa "bench-checkins": 10,000 practices, every one an active partner with a check-in due (its
             cadence rows in step, 60 % with an earlier check-in touchpoint), 10,000 clinicians and referrals, the
             catalog: what the check-in job (bench/checkins.py) works through.

Everything is bulk_create in large batches under ``scopes_disabled()`` (no services, no audit events, no
emails): the point is the shape and size of the tables the pages read, quickly. Bulk-created referrals skip
the services that keep the referral figures (referrals/figures.py), so each spa's figures are counted once
from its referrals at the end (``figures.rebuild``, what ``manage.py rebuild_referral_figures`` does), then its
partners' health assessed (``health_snapshots.refresh_spa``, what ``manage.py rebuild_partner_health`` does).
Random choices come from one seeded ``random.Random``, so two seeds with the same parameters and day give the
same distributions.

The names, places and weight tables the choices draw from are in bench/seed_vocabulary.py; the referrals, each
consistent with its status, are drawn by bench/seed_referrals.py.

Sizes can be scaled for a quick try (``BENCH_REFERRALS=10000 BENCH_PRACTICES=500 make bench``); the figures in
docs/benchmarks.md are at the defaults.
"""

import datetime
import hashlib
import os
import time
import zoneinfo
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django_scopes import scopes_disabled

from bench.seed_referrals import ReferralRows
from bench.seed_vocabulary import (
    CITIES,
    CLINICIAN_CREDENTIALS,
    EXTRA_CLINICIAN_WEIGHT,
    FIRST_NAMES,
    GIFT_KINDS,
    LAST_NAMES,
    PRACTICE_SUFFIXES,
    SERVICES,
    SIZE_WEIGHTS,
    SOURCE_CHOICES,
    SPECIALTY_WEIGHTS,
    SPECIALTY_WORDS,
    STAGE_WEIGHTS,
    TASK_KINDS,
    TASK_SOURCE,
    TOUCHPOINT_KINDS,
    TOUCHPOINT_STAGE_WEIGHT,
    Random,
)

# Bump when the generated data changes meaning; the source hash below catches the rest.
SEED_VERSION = 2
BIG_SLUG = "bench-big"
SMALL_SLUG = "bench-small-{:02d}"
CHECKIN_SLUG = "bench-checkins"
OWNER_PASSWORD = "bench-owner"  # noqa: S105 - a local benchmark database's throwaway login
# The big spa's API key (one active dermatology practice's EHR) and its portal users (front desks of 8 active
# practices, one session each for the 8 clients). A fixed key: the database is a local, throwaway one.
BENCH_API_KEY = "sk_bench_big_spa_ehr_0d3c9a7e41b2f58c6a90e1d7"  # noqa: S105
PORTAL_USERS = 8
PORTAL_EMAIL = "portal{n}@{slug}.bench.example"
BATCH = 5000
SEEDED_APPS = ("spas", "partners", "referrals", "outreach")
# The modules the data comes from: the fingerprint hashes them all, so a change in any one reseeds.
SEED_SOURCES = ("seed.py", "seed_vocabulary.py", "seed_referrals.py")


@dataclass(frozen=True)
class SpaSize:
    referrals: int
    practices: int
    clinicians: int
    contacts: int
    touchpoints: int
    tasks: int
    gifts: int
    staff: int


@dataclass(frozen=True)
class SeedParams:
    big: SpaSize = SpaSize(
        referrals=100_000,
        practices=5_000,
        clinicians=10_000,
        contacts=6_000,
        touchpoints=4_000,
        tasks=3_000,
        gifts=300,
        staff=6,
    )
    # Small spas draw their referral count from 200–400 around this size.
    small: SpaSize = SpaSize(
        referrals=300, practices=25, clinicians=50, contacts=30, touchpoints=60, tasks=40, gifts=6, staff=2
    )
    small_spas: int = 20
    # The check-in job's spa: every practice an active partner with a check-in due (issue 9).
    checkin: SpaSize = SpaSize(
        referrals=10_000, practices=10_000, clinicians=10_000, contacts=0, touchpoints=0, tasks=0, gifts=0, staff=4
    )
    history_days: int = 730
    random_seed: int = 2026


def params_from_env():
    """The default sizes, with the big spa's referrals / practices scaled by BENCH_REFERRALS / BENCH_PRACTICES."""
    params = SeedParams()
    referrals = int(os.environ.get("BENCH_REFERRALS", params.big.referrals))
    practices = int(os.environ.get("BENCH_PRACTICES", params.big.practices))
    share = practices / params.big.practices
    big = replace(
        params.big,
        referrals=referrals,
        practices=practices,
        clinicians=round(params.big.clinicians * share),
        contacts=round(params.big.contacts * share),
        touchpoints=round(params.big.touchpoints * share),
        tasks=round(params.big.tasks * share),
        gifts=max(round(params.big.gifts * share), 10),
    )
    partners = int(os.environ.get("BENCH_CHECKIN_PARTNERS", params.checkin.practices))
    checkin = replace(params.checkin, practices=partners, clinicians=partners, referrals=partners)
    return replace(
        params, big=big, checkin=checkin, small_spas=int(os.environ.get("BENCH_SMALL_SPAS", params.small_spas))
    )


def _schema_fingerprint():
    """The seeded apps' models and their concrete fields: a model change makes the stored data stale."""
    parts = []
    for app_label in SEEDED_APPS:
        for model in sorted(apps.get_app_config(app_label).get_models(), key=lambda model: model.__name__):
            parts.append(
                model.__name__ + ":" + ",".join(sorted(field.attname for field in model._meta.concrete_fields))
            )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _source_fingerprint():
    here = Path(__file__).resolve().parent
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in SEED_SOURCES)).hexdigest()[:16]


def fingerprint(params):
    """What the marker stores and a later run compares: sizes, seed version, the seed's source and the schema."""
    return {
        "params": asdict(params),
        "seed_version": SEED_VERSION,
        "seed_source": _source_fingerprint(),
        "schema": _schema_fingerprint(),
    }


def _model(label):
    return apps.get_model(label)


def _bulk(label, objects, batch_size=BATCH):
    return _model(label).objects.bulk_create(objects, batch_size=batch_size)


def _local(spa, moment):
    return timezone.localtime(moment, zoneinfo.ZoneInfo(spa.timezone))


class SpaSeeder:
    """Seeds one spa of a given size. ``codes`` is shared by all spas: referral codes are unique globally."""

    def __init__(self, *, spa, size, rng, now, history_days, codes, users):
        self.spa, self.size, self.rng, self.now = spa, size, rng, now
        self.history_days = history_days
        self.codes = codes
        self.owner, *self.staff = users
        self.members = users
        self.today = _local(spa, now).date()
        self.zone = zoneinfo.ZoneInfo(spa.timezone)
        self.counts = {}

    def run(self):
        self.catalog()
        self.practices()
        self.people()
        self.referral_codes()
        self.referrals()
        self.touchpoints()
        self.check_in_cadences()
        self.tasks()
        self.gifts()
        return self.counts

    # --- catalog and settings --------------------------------------------------------------------------------

    def catalog(self):
        spa, rng = self.spa, self.rng
        self.services = _bulk(
            "spas.Service",
            [
                _model("spas.Service")(
                    spa=spa,
                    name=name,
                    category=category,
                    duration_minutes=minutes,
                    price=Decimal(price),
                    specialties=specialties,
                    pregnancy_safe=category != "body",
                    description=f"{name} for referred patients.",
                )
                for name, category, minutes, price, specialties in SERVICES
            ],
        )
        _bulk(
            "spas.Offer",
            [
                _model("spas.Offer")(spa=spa, title=title, specialties=specialties, terms="First visit only.")
                for title, specialties in [
                    ("15% off a first prenatal massage", ["ob_gyn"]),
                    ("20% off a first calming facial", ["dermatology", "plastic_surgery"]),
                    ("A free scalp treatment with a first massage", ["physical_therapy", "chiropractic"]),
                    ("10% off a first visit", []),
                ]
            ],
        )
        credentials = []
        for index, (person, credential, days) in enumerate(
            [
                ("Ana Ruiz", "Certified prenatal massage therapist", 24),
                ("Ana Ruiz", "Licensed massage therapist", 410),
                ("Ben Ito", "Licensed massage therapist", 51),
                ("Ben Ito", "Medical massage certification", None),
                ("Cleo Hart", "Licensed esthetician", -6),
                ("Cleo Hart", "Oncology esthetics certification", 200),
                ("Dev Rao", "Lymphatic drainage certification", 700),
                ("Eli Moss", "Licensed massage therapist", 95),
            ]
        ):
            credentials.append(
                _model("spas.Credential")(
                    spa=spa,
                    person=person,
                    credential=credential,
                    issuer="State Board",
                    number=f"LMT-{rng.randrange(10_000, 99_999)}-{index}",
                    expires_on=None if days is None else self.today + datetime.timedelta(days=days),
                )
            )
        _bulk("spas.Credential", credentials)
        _bulk("referrals.ReferralSettings", [_model("referrals.ReferralSettings")(spa=spa)])
        _bulk("outreach.OutreachSettings", [_model("outreach.OutreachSettings")(spa=spa)])

    # --- practices and their people --------------------------------------------------------------------------

    stage_weights = STAGE_WEIGHTS

    def _practice_dates(self):
        """(created_at, stage_changed_at) of one practice."""
        created_at = self.now - datetime.timedelta(days=self.rng.uniform(30, self.history_days + 120))
        return created_at, self.rng.between(created_at, self.now)

    def practices(self):
        from infra.phones import phone_key

        spa, rng = self.spa, self.rng
        Practice = _model("partners.Practice")
        names = set()
        practices = []
        for index in range(self.size.practices):
            specialty = rng.weighted(SPECIALTY_WEIGHTS)
            stage = rng.weighted(self.stage_weights)
            city = rng.choice(CITIES)
            name = f"{rng.choice(LAST_NAMES)} {rng.choice(SPECIALTY_WORDS[specialty])} {rng.choice(PRACTICE_SUFFIXES)}"
            if name in names:
                name = f"{name} of {city}"
            if name in names:
                name = f"{name} {index}"
            names.add(name)
            created_at, stage_changed_at = self._practice_dates()
            # Stored as the forms store what is typed: E.164 ("(617) 200-0001" is "+16172000001").
            phone = f"+1617{200 + index // 10_000 % 800:03d}{index % 10_000:04d}"
            practices.append(
                Practice(
                    spa=spa,
                    name=name,
                    specialty=specialty,
                    address=f"{rng.randrange(1, 999)} {rng.choice(LAST_NAMES)} Street",
                    city=city,
                    phone=phone,
                    phone_normalized=phone_key(phone, spa.country),  # bulk_create skips Practice.save()
                    website=f"https://practice-{spa.pk}-{index}.example",
                    size=rng.weighted(SIZE_WEIGHTS),
                    source=rng.choice(SOURCE_CHOICES),
                    owner=rng.choice(self.members),
                    stage=stage,
                    stage_changed_at=stage_changed_at,
                    declined_reason="Not taking outside referrals this year." if stage == "declined" else "",
                    created_at=created_at,
                )
            )
        self.practice_list = _bulk("partners.Practice", practices)
        self.counts["practices"] = len(practices)

    def people(self):
        spa, rng = self.spa, self.rng
        Clinician, OfficeContact = _model("partners.Clinician"), _model("partners.OfficeContact")
        practices = self.practice_list
        per_practice = [1] * len(practices)
        extra = max(self.size.clinicians - len(practices), 0)
        weights = [EXTRA_CLINICIAN_WEIGHT[practice.size] for practice in practices]
        if extra and any(weights):
            for index in rng.choices(range(len(practices)), weights, k=extra):
                per_practice[index] += 1
        clinicians = []
        for practice, count in zip(practices, per_practice, strict=True):
            for _n in range(count):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                clinicians.append(
                    Clinician(
                        spa=spa,
                        practice=practice,
                        first_name=first,
                        last_name=last,
                        credentials=rng.choice(CLINICIAN_CREDENTIALS[practice.specialty]),
                        specialty=practice.specialty,
                        email=f"{first}.{last}.{len(clinicians)}@practice.example".lower(),
                        created_at=practice.created_at,
                    )
                )
        self.clinician_list = _bulk("partners.Clinician", clinicians)
        self.clinicians_of = {}
        for clinician in self.clinician_list:
            self.clinicians_of.setdefault(clinician.practice_id, []).append(clinician)

        contacts = []
        extra_contacts = rng.choices(practices, k=max(self.size.contacts - len(practices), 0))
        for practice in [*practices[: self.size.contacts], *extra_contacts]:
            role = "office_manager" if len(contacts) < len(practices) else rng.choice(["front_desk", "nurse", "other"])
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            contacts.append(
                OfficeContact(
                    spa=spa,
                    practice=practice,
                    name=name,
                    role=role,
                    email=f"{name.replace(' ', '.')}.{len(contacts)}@practice.example".lower(),
                    phone=practice.phone,
                    created_at=practice.created_at,
                )
            )
        self.contact_list = _bulk("partners.OfficeContact", contacts)
        self.counts["clinicians"], self.counts["office contacts"] = len(clinicians), len(contacts)

    def _new_code(self):
        from partners.models import REFERRAL_CODE_ALPHABET, REFERRAL_CODE_LENGTH

        while True:
            code = "".join(self.rng.choices(REFERRAL_CODE_ALPHABET, k=REFERRAL_CODE_LENGTH))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def referral_codes(self):
        ReferralCode = _model("partners.ReferralCode")
        codes = [
            ReferralCode(spa=self.spa, practice=practice, code=self._new_code(), created_at=practice.created_at)
            for practice in self.practice_list
        ]
        by_id = {practice.pk: practice for practice in self.practice_list}
        codes += [
            ReferralCode(
                spa=self.spa,
                practice_id=clinician.practice_id,
                clinician=clinician,
                code=self._new_code(),
                created_at=clinician.created_at,
            )
            for clinician in self.clinician_list
            if by_id[clinician.practice_id].stage in ("active", "trial")
        ]
        _bulk("partners.ReferralCode", codes)
        self.counts["referral codes"] = len(codes)

    # --- referrals (bench/seed_referrals.py) ------------------------------------------------------------------

    def referrals(self):
        rows = ReferralRows(self)
        for batch in rows.batches():
            _bulk("referrals.Referral", batch)
        self.counts["referrals"] = rows.created
        self.counts["referrals by status"] = dict(sorted(rows.statuses.items(), key=lambda item: -item[1]))
        self.counts["overdue referrals"] = rows.overdue

    # --- outreach --------------------------------------------------------------------------------------------

    def touchpoints(self):
        spa, rng = self.spa, self.rng
        Touchpoint = _model("outreach.Touchpoint")
        eligible = [p for p in self.practice_list if p.stage in TOUCHPOINT_STAGE_WEIGHT]
        if not eligible:
            return
        weights = [TOUCHPOINT_STAGE_WEIGHT[p.stage] for p in eligible]
        touchpoints = []
        for practice in rng.choices(eligible, weights, k=self.size.touchpoints):
            kind = rng.weighted(TOUCHPOINT_KINDS)
            occurred_on = self.today - datetime.timedelta(days=int(self.history_days * rng.random() ** 1.6))
            touchpoints.append(
                Touchpoint(
                    spa=spa,
                    practice=practice,
                    kind=kind,
                    occurred_on=occurred_on,
                    outcome=rng.choice(["positive", "positive", "neutral", "negative", "no_response", ""]),
                    notes="Talked about the offer for referred patients.",
                    next_step=rng.choice(["", "Send the leave-behind", "Call back next month"]),
                    logged_by=rng.choice(self.members),
                    created_at=datetime.datetime.combine(occurred_on, datetime.time(15), tzinfo=self.zone),
                )
            )
        touchpoints = _bulk("outreach.Touchpoint", touchpoints)
        TouchpointParticipant = _model("outreach.TouchpointParticipant")
        participants = [
            TouchpointParticipant(spa=spa, touchpoint=touchpoint, clinician=rng.choice(clinicians))
            for touchpoint in touchpoints[::2]
            if (clinicians := self.clinicians_of.get(touchpoint.practice_id))
        ]
        _bulk("outreach.TouchpointParticipant", participants)
        self.counts["touchpoints"] = len(touchpoints)

    def check_in_cadences(self):
        rng = self.rng
        CheckInCadence = _model("outreach.CheckInCadence")
        rows = []
        for practice in self.practice_list:
            if practice.stage != "active":
                continue
            cadence = rng.choice([None, None, None, None, 30, 60, 182])
            next_due = self.today + datetime.timedelta(days=rng.randint(-45, 91))
            rows.append(
                CheckInCadence(
                    spa=self.spa,
                    practice=practice,
                    cadence_days=cadence,
                    next_due_on=next_due,
                    last_check_in_on=next_due - datetime.timedelta(days=cadence or 91),
                )
            )
        _bulk("outreach.CheckInCadence", rows)
        self.counts["check-in cadences"] = len(rows)

    def tasks(self):
        spa, rng = self.spa, self.rng
        Task = _model("outreach.Task")
        eligible = [p for p in self.practice_list if p.stage != "prospect"] or self.practice_list
        tasks = []
        for practice in rng.choices(eligible, k=self.size.tasks):
            kind = rng.weighted(TASK_KINDS)
            offset = 0 if rng.random() < 0.08 else rng.randint(-30, 30)
            due_on = self.today + datetime.timedelta(days=offset)
            done = offset < 0 and rng.random() < 0.6 or offset >= 0 and rng.random() < 0.05
            created_at = datetime.datetime.combine(
                due_on - datetime.timedelta(days=rng.randint(1, 14)), datetime.time(8), tzinfo=self.zone
            )
            assignee = self.owner if rng.random() < 0.25 else rng.choice(self.members)
            tasks.append(
                Task(
                    spa=spa,
                    title=f"{kind.replace('_', ' ').capitalize()}: {practice.name}",
                    kind=kind,
                    due_on=due_on,
                    assignee=assignee,
                    practice=practice,
                    source=TASK_SOURCE.get(kind, rng.choice(["manual", "manual", "playbook", "campaign"])),
                    done_at=min(created_at + datetime.timedelta(days=rng.uniform(0, 20)), self.now) if done else None,
                    done_by=assignee if done else None,
                    created_by=rng.choice(self.members),
                    created_at=created_at,
                )
            )
        _bulk("outreach.Task", tasks)
        self.counts["tasks"] = len(tasks)

    def gifts(self):
        """Gifts this year and last; a few recipients this year close to (or, with an override, over) the limit."""
        spa, rng = self.spa, self.rng
        Gift = _model("outreach.Gift")
        partners = [p for p in self.practice_list if p.stage in ("active", "trial")]
        recipients = []
        for practice in rng.sample(partners, min(len(partners), max(self.size.gifts // 3, 1))):
            if rng.random() < 0.85 and self.clinicians_of.get(practice.pk):
                recipients.append((practice, rng.choice(self.clinicians_of[practice.pk]), None))
        contacts = [c for c in self.contact_list if c.practice.stage in ("active", "trial")]
        for contact in rng.sample(contacts, min(len(contacts), max(len(recipients) // 6, 1))):
            recipients.append((contact.practice, None, contact))
        if not recipients:
            return
        year_start = self.today.replace(month=1, day=1)
        last_year_start = year_start.replace(year=year_start.year - 1)
        gifts = []
        near_limit = set(rng.sample(range(len(recipients)), min(len(recipients), 6)))
        for index, (practice, clinician, contact) in enumerate(recipients):
            target = Decimal(rng.choice([450, 470, 500, 520, 560])) if index in near_limit else None
            given = Decimal("0")
            for _n in range(rng.randint(1, 4) if target is None else 5):
                if len(gifts) >= self.size.gifts:
                    break
                this_year = target is not None or rng.random() < 0.6
                start = year_start if this_year else last_year_start
                end = self.today if this_year else year_start - datetime.timedelta(days=1)
                given_on = start + datetime.timedelta(days=rng.randrange((end - start).days + 1))
                value = (target / 5).quantize(Decimal("0.01")) if target else Decimal(rng.randrange(20, 120))
                given += value
                over = target is not None and given > Decimal("535")
                gifts.append(
                    Gift(
                        spa=spa,
                        practice=practice,
                        recipient_clinician=clinician,
                        recipient_contact=contact,
                        given_on=given_on,
                        kind=rng.weighted(GIFT_KINDS),
                        description=rng.choice(["Lunch for the office", "Gift basket", "Complimentary massage"]),
                        fair_market_value=value,
                        override_reason="Owner approved: annual open house." if over else "",
                        override_by=self.owner if over else None,
                        override_at=self.now if over else None,
                        logged_by=rng.choice(self.members),
                    )
                )
        _bulk("outreach.Gift", gifts)
        self.counts["gifts"] = len(gifts)


class CheckInSpaSeeder(SpaSeeder):
    """The check-in job's spa: every practice an active partner since 200–700 days ago, each with a check-in due.

    The CheckInCadence rows agree with what the job computes (due = the later of becoming active and the last
    "check_in" touchpoint, plus the practice's cadence or the spa's 91 days), as the touchpoint hook and the cadence
    form keep them in a live database, so a run writes only the tasks, their audit events and their emails. 60 %
    of the practices have had a check-in before (the briefing then counts from it), the rest only became active.
    """

    stage_weights = {"active": 1}

    def run(self):
        self.catalog()
        self.practices()
        self.people()
        self.referrals()
        self.check_ins()
        return self.counts

    def _practice_dates(self):
        became_active_on = self.today - datetime.timedelta(days=self.rng.randint(200, 700))
        stage_changed_at = datetime.datetime.combine(became_active_on, datetime.time(12), tzinfo=self.zone)
        return stage_changed_at - datetime.timedelta(days=self.rng.uniform(20, 200)), stage_changed_at

    def check_ins(self):
        rng, spa = self.rng, self.spa
        Touchpoint, CheckInCadence = _model("outreach.Touchpoint"), _model("outreach.CheckInCadence")
        touchpoints, cadences = [], []
        for practice in self.practice_list:
            cadence = rng.choice([None, None, None, None, 30, 60, 182])
            days = cadence or 91
            active_since = _local(spa, practice.stage_changed_at).date()
            last = None
            if rng.random() < 0.6:
                latest = self.today - datetime.timedelta(days=days + rng.randint(0, 60))
                if latest > active_since:
                    last = active_since + datetime.timedelta(days=rng.randint(0, (latest - active_since).days))
            if last is not None:
                touchpoints.append(
                    Touchpoint(
                        spa=spa,
                        practice=practice,
                        kind="check_in",
                        occurred_on=last,
                        outcome="positive",
                        notes="Quarterly check-in.",
                        logged_by=practice.owner,
                        created_at=datetime.datetime.combine(last, datetime.time(15), tzinfo=self.zone),
                    )
                )
            cadences.append(
                CheckInCadence(
                    spa=spa,
                    practice=practice,
                    cadence_days=cadence,
                    last_check_in_on=last,
                    next_due_on=max(active_since, last or active_since) + datetime.timedelta(days=days),
                )
            )
        _bulk("outreach.Touchpoint", touchpoints)
        _bulk("outreach.CheckInCadence", cadences)
        self.counts["check-in touchpoints"] = len(touchpoints)
        self.counts["check-ins due"] = len(cadences)


def _api_and_portal(seeder):
    """The big spa's API key and portal users (see BENCH_API_KEY and PORTAL_USERS)."""
    from referrals.api.services import DISPLAY_PREFIX_LENGTH
    from referrals.models import hash_api_key

    spa = seeder.spa
    active = [p for p in seeder.practice_list if p.stage == "active" and seeder.clinicians_of.get(p.pk)]
    ehr_practice = next(p for p in active if p.specialty == "dermatology")
    _bulk(
        "referrals.ApiKey",
        [
            _model("referrals.ApiKey")(
                spa=spa,
                practice=ehr_practice,
                name="Bench EHR",
                prefix=BENCH_API_KEY[:DISPLAY_PREFIX_LENGTH],
                key_hash=hash_api_key(BENCH_API_KEY),
                created_by=seeder.owner,
            )
        ],
    )
    User = _model("spas.User")
    unusable = make_password(None)
    portal_practices = [p for p in active if p is not ehr_practice][:PORTAL_USERS]
    users = _bulk(
        "spas.User",
        [
            User(email=PORTAL_EMAIL.format(n=n, slug=spa.slug), full_name=f"Front desk {n}", password=unusable)
            for n in range(1, len(portal_practices) + 1)
        ],
    )
    PortalAccess = _model("referrals.PortalAccess")
    _bulk(
        "referrals.PortalAccess",
        [
            PortalAccess(spa=spa, practice=practice, user=user)
            for practice, user in zip(portal_practices, users, strict=True)
        ],
    )
    seeder.counts["API keys"], seeder.counts["portal users"] = 1, len(users)


def _users(slug, staff):
    """The spa's owner and staff. Only the big spa's owner gets a usable password (one PBKDF2 hash)."""
    User = _model("spas.User")
    unusable = make_password(None)
    users = [User(email=f"owner@{slug}.bench.example", full_name=f"Owner of {slug}", password=unusable)]
    users += [
        User(email=f"staff{n}@{slug}.bench.example", full_name=f"Staff {n} of {slug}", password=unusable)
        for n in range(1, staff + 1)
    ]
    if slug == BIG_SLUG:
        users[0].set_password(OWNER_PASSWORD)
    return _bulk("spas.User", users)


def seed(params, *, now=None, log=print):
    """Write the whole data set into an empty, migrated database. Returns {spa slug: counts}."""
    from allauth.account.models import EmailAddress

    now = now or timezone.now()
    rng = Random(params.random_seed)
    codes = set()
    Spa, Membership = _model("spas.Spa"), _model("spas.Membership")
    summary = {}
    specs = [(BIG_SLUG, "Bench Big Day Spa", params.big, "America/New_York")]
    zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"]
    for n in range(1, params.small_spas + 1):
        size = replace(
            params.small, referrals=rng.randint(params.small.referrals * 2 // 3, params.small.referrals * 4 // 3)
        )
        specs.append((SMALL_SLUG.format(n), f"Bench Small Spa {n}", size, zones[n % len(zones)]))
    if params.checkin.practices:
        specs.append((CHECKIN_SLUG, "Bench Check-in Spa", params.checkin, "America/Chicago"))
    with scopes_disabled():
        for slug, name, size, zone in specs:
            started = time.perf_counter()
            spa = Spa.objects.create(
                name=name,
                slug=slug,
                timezone=zone,
                referral_email=f"referrals@{slug}.bench.example",
                referral_phone="+16175550199",
                address="1 Bench Street, Boston, MA",
            )
            users = _users(slug, size.staff)
            _bulk(
                "spas.Membership",
                [
                    Membership(spa=spa, user=user, role="owner" if index == 0 else "staff")
                    for index, user in enumerate(users)
                ],
            )
            if slug == BIG_SLUG:
                EmailAddress.objects.create(user=users[0], email=users[0].email, verified=True, primary=True)
            seeder = (CheckInSpaSeeder if slug == CHECKIN_SLUG else SpaSeeder)(
                spa=spa, size=size, rng=rng, now=now, history_days=params.history_days, codes=codes, users=users
            )
            counts = seeder.run()
            if slug == BIG_SLUG:
                _api_and_portal(seeder)
            counts["figure rows"] = _count_figures(spa)
            counts["partners assessed"] = _assess_partners(spa, now)
            summary[slug] = counts
            if slug in (BIG_SLUG, CHECKIN_SLUG):
                log(f"  seeded {slug}: " + _describe(counts) + f" in {time.perf_counter() - started:.1f} s")
        small = [summary[slug] for slug in summary if slug not in (BIG_SLUG, CHECKIN_SLUG)]
        if small:
            log(
                f"  seeded {len(small)} small spas: {sum(c['referrals'] for c in small):,} referrals, "
                f"{sum(c['practices'] for c in small):,} practices"
            )
    return summary


def _count_figures(spa):
    """The spa's referral figures, counted from the referrals just bulk-created. Returns the rows written."""
    from referrals import figures

    return figures.rebuild(spa)


def _assess_partners(spa, now):
    """The spa's partner health, kept per partner (outreach/health/snapshots.py), assessed from what was just
    bulk-created and the figures just counted. Returns how many partners it assessed."""
    from outreach.health.snapshots import refresh_spa

    return refresh_spa(spa=spa, now=now)


def _describe(counts):
    return ", ".join(f"{value:,} {name}" for name, value in counts.items() if isinstance(value, int))


def user_session(email, **extra):
    """A signed-in session for ``email``, as the login view would leave it: (cookie name, value).

    Created fresh each run, with the SECRET_KEY of this run (the auth hash in the session depends on it).
    """
    from django.contrib.sessions.backends.db import SessionStore

    User = _model("spas.User")
    user = User.objects.get(email=email)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.update(extra)
    session.create()
    return settings.SESSION_COOKIE_NAME, session.session_key


def owner_session(slug=BIG_SLUG):
    """The big spa's owner, signed in (the staff pages' client)."""
    return user_session(f"owner@{slug}.bench.example", last_spa_slug=slug)


def portal_sessions(slug=BIG_SLUG):
    """One signed-in session per portal user of the spa (the portal rows' clients), in a fixed order."""
    return [user_session(PORTAL_EMAIL.format(n=n, slug=slug)) for n in range(1, PORTAL_USERS + 1)]
