"""The referrals of a seeded spa (bench/seed.py's SpaSeeder.referrals), drawn batch by batch.

Referrals are consistent with their status: first contact is due 2 business days after receipt (the spa
default, referrals.clock); contacted and later statuses have a first attempt after receipt; scheduled ones an
appointment in the future, completed and no-shows one in the past; closed ones (completed, declined,
cancelled) a ``closed_at``; received/accepted ones past their due time with no attempt are the overdue ones.

Every draw comes from the seeder's one random generator, in a fixed order, so a seed with the same parameters
and day gives the same referrals: reorder the draws below and the data set changes (and is reseeded).
"""

import datetime
import math

from django.apps import apps

from bench.seed_vocabulary import FIRST_NAMES, LAST_NAMES

# How much each stage refers (prospects and declined practices do not).
STAGE_REFERRAL_FACTOR = {"active": 1.0, "trial": 0.4, "dormant": 0.5, "meeting": 0.03}
CHANNEL_WEIGHTS = {"portal": 35, "landing": 20, "api": 10, "phone": 15, "fax": 8, "email": 8, "walk_in": 4}
MANUAL = {"phone", "fax", "email", "walk_in"}
CONSENT_BY_CHANNEL = {"landing": "patient_online", "phone": "verbal", "walk_in": "written"}
DECLINE_REASONS = [
    "Outside our services: needs medical wound care.",
    "Patient lives out of our area.",
    "Contraindicated treatment; referred back to the clinician.",
]
# Status by age of the referral: recent ones are still being worked, old ones mostly closed.
STATUS_BY_AGE = [
    (2, {"received": 48, "accepted": 30, "contacted": 14, "declined": 4, "cancelled": 4}),
    (
        21,
        {
            "received": 3,
            "accepted": 6,
            "contacted": 14,
            "scheduled": 34,
            "completed": 22,
            "no_show": 4,
            "unreachable": 5,
            "declined": 6,
            "cancelled": 6,
        },
    ),
    (
        90,
        {
            "received": 0.6,
            "accepted": 1,
            "contacted": 2,
            "scheduled": 3,
            "completed": 58,
            "no_show": 5,
            "unreachable": 7,
            "declined": 10,
            "cancelled": 13,
        },
    ),
    (
        math.inf,
        {
            "received": 0.15,
            "accepted": 0.25,
            "contacted": 0.3,
            "scheduled": 0.3,
            "completed": 62,
            "no_show": 3,
            "unreachable": 7,
            "declined": 11,
            "cancelled": 16,
        },
    ),
]
REACHED = {"contacted", "scheduled", "completed", "no_show"}

# Referrals are drawn this many at a time and each batch is written before the next is drawn, so at most this many
# unsaved objects are held at once.
DRAW_BATCH = 20_000


class ReferralRows:
    """A spa's referrals for ``seeder`` (a SpaSeeder whose catalog, practices and people are seeded): unsaved
    Referral objects from batches(), and what they add up to (created, statuses, overdue) once it is exhausted."""

    def __init__(self, seeder):
        from referrals.clock import add_business_days
        from referrals.models import REASONS_BY_SPECIALTY

        self.seeder = seeder
        self.spa, self.rng, self.now = seeder.spa, seeder.rng, seeder.now
        self.today, self.zone, self.history_days = seeder.today, seeder.zone, seeder.history_days
        self.add_business_days = add_business_days
        self.model = apps.get_model("referrals.Referral")
        self.has_contacted_at = "contacted_at" in {field.name for field in self.model._meta.concrete_fields}
        self.reasons = {
            specialty: [value for value, _label in choices] + ["other"]
            for specialty, choices in REASONS_BY_SPECIALTY.items()
        }
        self.created = 0
        self.statuses = {}  # status: how many
        self.overdue = 0

    def batches(self):
        """Lists of at most DRAW_BATCH unsaved referrals, the spa's size.referrals in all."""
        rng = self.rng
        referring = [p for p in self.seeder.practice_list if p.stage in STAGE_REFERRAL_FACTOR]
        rng.shuffle(referring)
        # A few partners send most referrals: Zipf-like weights over a shuffled order, scaled by stage.
        weights = [STAGE_REFERRAL_FACTOR[p.stage] / (rank + 5) ** 0.8 for rank, p in enumerate(referring)]
        total = self.seeder.size.referrals
        while self.created < total:
            count = min(DRAW_BATCH, total - self.created)
            practices = rng.choices(referring, weights, k=count)
            channels = rng.weighted(CHANNEL_WEIGHTS, k=count)
            batch = []
            for practice, channel in zip(practices, channels, strict=True):
                batch.append(self._referral(practice, channel, serial=self.created + len(batch)))
            yield batch
            self.created += count

    def _referral(self, practice, channel, *, serial):
        """One referral from ``practice`` by ``channel``, its lifecycle consistent with its status."""
        spa, rng, now = self.spa, self.rng, self.now
        seeder = self.seeder
        received_at = self._received_at()
        status = self._status_for(received_at)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        clinicians = seeder.clinicians_of.get(practice.pk, [])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        values = self._lifecycle(status, received_at, practice)
        due_at = self.add_business_days(received_at, 2, spa.timezone)
        is_overdue = status in ("received", "accepted") and not values["first_contact_attempt_at"]
        is_overdue = is_overdue and due_at < now
        self.overdue += is_overdue
        if not self.has_contacted_at:
            del values["contacted_at"]
        manual = channel in MANUAL
        return self.model(
            spa=spa,
            practice=practice,
            clinician=rng.choice(clinicians) if clinicians and rng.random() < 0.7 else None,
            channel=channel,
            patient_first_name=first,
            patient_last_name=last,
            patient_phone=f"+1617555{serial % 10_000:04d}" if rng.random() < 0.85 else "",  # E.164, as stored
            patient_email=f"{first}.{last}.{serial}@patient.example".lower() if rng.random() < 0.7 else "",
            preferred_contact_method=rng.choice(["phone", "phone", "text", "email"]),
            preferred_contact_time=rng.choice(["", "Weekday mornings", "After 5 pm", "Any time"]),
            patient_date_of_birth=datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20_000)),
            reason_category=rng.choice(self.reasons.get(practice.specialty, ["other"])),
            reason_text="Referred after today's visit.",
            urgency=rng.weighted({"routine": 80, "soon": 15, "urgent": 5}),
            consent_to_contact=True,
            consent_method=CONSENT_BY_CHANNEL.get(channel, "clinic_attestation"),
            consent_captured_by=(
                "Patient (online form)" if channel == "landing" else seeder.owner.full_name if manual else practice.name
            ),
            consent_captured_at=received_at,
            status=status,
            received_at=received_at,
            first_contact_due_at=due_at,
            overdue_notified_at=due_at if is_overdue else None,
            assignee=rng.choice(seeder.members) if rng.random() < 0.6 else None,
            created_by=rng.choice(seeder.members) if manual else None,
            created_by_label="" if manual else practice.name,
            **values,
        )

    def _lifecycle(self, status, received_at, practice):
        """The fields a referral in ``status`` has by now: attempts, contact, appointment, closing."""
        rng, now = self.rng, self.now
        values = {
            "first_contact_attempt_at": None,
            "contacted_at": None,
            "scheduled_for": None,
            "scheduled_service": None,
            "closed_at": None,
            "failed_attempts": 0,
            "decline_reason": "",
        }
        if status in REACHED or status in ("unreachable",) or (status == "accepted" and rng.random() < 0.3):
            values["first_contact_attempt_at"] = self._after(received_at, 20)
        if status == "accepted" and values["first_contact_attempt_at"]:
            values["failed_attempts"] = rng.choice([1, 1, 2])
        elif status == "unreachable":
            values["failed_attempts"] = 3
        elif status in REACHED:
            values["failed_attempts"] = rng.choice([0, 0, 0, 1, 2])
            values["contacted_at"] = values["first_contact_attempt_at"]
        if status == "scheduled":
            values["scheduled_for"] = now + datetime.timedelta(hours=rng.uniform(2, 24 * 21))
        elif status in ("completed", "no_show"):
            values["scheduled_for"] = self._after(values["first_contact_attempt_at"], 24 * 6)
        if status in ("scheduled", "completed", "no_show"):
            services = self.seeder.services
            matching = [s for s in services if practice.specialty in s.specialties] or services
            values["scheduled_service"] = rng.choice(matching)
        if status == "completed":
            values["closed_at"] = self._after(values["scheduled_for"], 1.5)
        elif status == "declined":
            values["closed_at"] = self._after(received_at, 6)
            values["decline_reason"] = rng.choice(DECLINE_REASONS)
        elif status == "cancelled":
            if rng.random() < 0.6:
                values["first_contact_attempt_at"] = self._after(received_at, 20)
                values["contacted_at"] = values["first_contact_attempt_at"]
                values["closed_at"] = self._after(values["first_contact_attempt_at"], 24 * 3)
            else:
                values["closed_at"] = self._after(received_at, 24 * 2)
        return values

    def _received_at(self):
        """Receipt times over the history, three times as dense now as at its start, in business hours mostly."""
        rng, days = self.rng, self.history_days
        while True:
            share = (-1 + math.sqrt(1 + 8 * rng.random())) / 2  # inverse CDF of a density rising 1 → 3
            day = self.today - datetime.timedelta(days=int(days * (1 - share)))
            if day.weekday() >= 5 and rng.random() < 0.7:
                continue
            hour = rng.choices(range(7, 21), [1, 4, 8, 9, 9, 7, 7, 8, 8, 7, 5, 3, 2, 1])[0]
            moment = datetime.datetime.combine(
                day, datetime.time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=self.zone
            )
            if moment < self.now:
                return moment

    def _status_for(self, received_at):
        age_days = (self.now - received_at).total_seconds() / 86400
        for limit, table in STATUS_BY_AGE:
            if age_days < limit:
                return self.rng.weighted(table)
        raise AssertionError("unreachable")

    def _after(self, start, typical_hours, ceiling=None):
        """A moment a typical (log-normal) time after ``start``, kept before ``ceiling`` (default: now)."""
        ceiling = ceiling or self.now
        moment = start + datetime.timedelta(hours=self.rng.lognormvariate(math.log(typical_hours), 0.9))
        if moment >= ceiling:
            moment = self.rng.between(start, ceiling)
        return moment
