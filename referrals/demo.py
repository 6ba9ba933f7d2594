"""Demo referrals, a clinic portal user and an API key for Glow Dermatology in serenity-spa.

Idempotent: referrals are created only when the spa has none; the portal user and the key
are found again on later runs. The demo key is fixed (demo data only) so it can be printed
on every run; real keys are random and shown once.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django_scopes import scope

from infra.phones import normalize_phone
from partners.models import Practice
from spas.demo import demo_user
from spas.models import Membership, Role, Service

from . import figures, services
from .clock import add_business_days
from .consent.services import authorization_create
from .inbound.mime import InboundEmail
from .inbound.services import inbound_email_accept, inbound_sms_accept
from .models import ApiKey, PortalAccess, Referral, ReferralEvent, Status, hash_api_key, reason_choices
from .outcomes.delivery import outcome_report_deliver
from .outcomes.services import outcome_report_save, outcome_report_share
from .services import first_contact_business_days

PORTAL_LOGIN = ("frontdesk@glowderm.example", "glowderm-demo", "Rosa Alvarez")
DEMO_API_KEY = "sk_demo_glowderm_0c6f1d2e9a7b4c58b3e2"  # noqa: S105 - published demo credential

PATIENTS = [
    ("Emma", "Johnson", "(617) 555-0301", "emma.j@example.com", "post_procedure_skin_care"),
    ("Olivia", "Martinez", "(617) 555-0302", "", "prenatal_comfort"),
    ("Ava", "Thompson", "", "ava.t@example.com", "muscle_tension_recovery"),
    ("Sophia", "Nguyen", "(617) 555-0304", "sophia.n@example.com", "sensitive_skin"),
    ("Mia", "Robinson", "(617) 555-0305", "", "postpartum_recovery"),
    ("Isabella", "Clark", "(617) 555-0306", "isabella.c@example.com", "comfort_during_treatment"),
    ("Charlotte", "Lewis", "(617) 555-0307", "", "rehab_complement"),
    ("Amelia", "Walker", "(617) 555-0308", "amelia.w@example.com", "stress_relief"),
    ("Harper", "Hall", "(617) 555-0309", "", "post_procedure_skin_care"),
    ("Evelyn", "Young", "(617) 555-0310", "evelyn.y@example.com", "sports_recovery"),
    ("Abigail", "King", "(617) 555-0311", "", "prenatal_comfort"),
    ("Ella", "Wright", "(617) 555-0312", "ella.w@example.com", "acne_support"),
]
# (practice name, channel, the statuses it passes through, days ago received)
STORIES = [
    ("Glow Dermatology", "portal", [], 0),
    ("Brookline Women's Health", "landing", [], 1),
    ("Riverside Physical Therapy", "api", [Status.ACCEPTED], 4),
    ("Glow Dermatology", "phone", [Status.ACCEPTED, "attempt:reached"], 6),
    ("Back Bay OB-GYN", "fax", [Status.ACCEPTED, "attempt:reached", Status.SCHEDULED], 9),
    ("Hope Cancer Center", "email", [Status.ACCEPTED, "attempt:reached", Status.SCHEDULED, Status.COMPLETED], 20),
    (
        "Riverside Physical Therapy",
        "walk_in",
        [Status.ACCEPTED, "attempt:reached", Status.SCHEDULED, Status.COMPLETED],
        26,
    ),
    (
        "Brookline Family Medicine",
        "portal",
        [Status.ACCEPTED, "attempt:no_answer", "attempt:voicemail", "attempt:no_answer"],
        12,
    ),
    ("Glow Dermatology", "portal", [Status.ACCEPTED, "attempt:reached", Status.SCHEDULED, Status.NO_SHOW], 15),
    ("Peak Sports Medicine", "phone", [Status.DECLINED], 17),
    ("Back Bay OB-GYN", "landing", [Status.ACCEPTED, "attempt:reached", Status.CANCELLED], 30),
    ("Glow Dermatology", "api", [Status.ACCEPTED, "attempt:reached", Status.SCHEDULED, Status.COMPLETED], 40),
]
# How long each story's referral waited before the spa's first step (cycled over the stories). A story is played
# in one instant and then moved back in time; without this wait every first contact came the same moment the
# referral arrived, and the dashboard's median time to first contact read "0 min".
WAITED_HOURS = (5, 2, 20, 3, 26, 7, 1, 30, 4, 9)


def _portal_user(spa, practice):
    email, password, name = PORTAL_LOGIN
    user = demo_user(email, password, name)
    PortalAccess.objects.get_or_create(spa=spa, user=user, defaults={"practice": practice})
    return email, password


def _api_key(spa, practice, owner):
    ApiKey.objects.get_or_create(
        key_hash=hash_api_key(DEMO_API_KEY),
        defaults={
            "spa": spa,
            "practice": practice,
            "name": "Glow EHR (demo)",
            "prefix": DEMO_API_KEY[:10],
            "created_by": owner,
        },
    )
    return DEMO_API_KEY


def _play(referral, steps, actor):
    for step in steps:
        if step.startswith("attempt:"):
            services.referral_log_attempt(referral=referral, outcome=step.split(":", 1)[1], actor=actor)
        else:
            kwargs = {}
            if step == Status.DECLINED:
                kwargs["reason"] = "Outside our services: the patient needs medical wound care."
            if step == Status.SCHEDULED:
                kwargs["scheduled_for"] = timezone.now() + timedelta(days=3)
                kwargs["service"] = Service.objects.filter(spa=referral.spa, archived_at=None).first()
            services.referral_transition(referral=referral, to_status=step, actor=actor, **kwargs)
        referral.refresh_from_db()


def _seed_referrals(spa, owner):
    if Referral.objects.filter(spa=spa).exists():
        return 0
    practices = {practice.name: practice for practice in Practice.objects.filter(spa=spa)}
    for index, ((first, last, phone, email, reason), (practice_name, channel, steps, days_ago)) in enumerate(
        zip(PATIENTS, STORIES, strict=True)
    ):
        practice = practices[practice_name]
        clinician = practice.clinicians.first()
        consent_method = {"landing": "patient_online", "phone": "verbal", "walk_in": "written"}.get(
            channel, "clinic_attestation"
        )
        referral = services.referral_create(
            spa=spa,
            practice=practice,
            clinician=clinician,
            channel=channel,
            notify=False,
            patient={
                "patient_first_name": first,
                "patient_last_name": last,
                "patient_phone": normalize_phone(phone, spa.country),  # as the intake forms store it
                "patient_email": email,
                "preferred_contact_time": "Weekday mornings",
            },
            details={
                "reason_category": reason if reason in _reasons(practice) else "other",
                "reason_text": "Referred after today's visit.",
            },
            consent_method=consent_method,
            consent_captured_by=f"{practice.name} (demo)",
            created_by=owner if channel in ("phone", "fax", "email", "walk_in") else None,
            created_by_label="" if channel in ("phone", "fax", "email", "walk_in") else practice.name,
        )
        _play(referral, steps, owner)
        # Move the story back in time so the inbox and the clock look lived-in, and its arrival back a little
        # further: the spa's first step came some hours after the referral did.
        shift = timedelta(days=days_ago, hours=days_ago % 5)
        waited = timedelta(hours=WAITED_HOURS[index % len(WAITED_HOURS)]) if steps else timedelta(0)
        referral.refresh_from_db()
        received_at = referral.received_at - shift - waited
        # Moved to another day (and month): the figures count it there instead.
        with figures.referrals_changing(spa=spa, referral_ids=[referral.pk]):
            Referral.objects.filter(pk=referral.pk).update(
                received_at=received_at,
                consent_captured_at=received_at,
                first_contact_due_at=add_business_days(received_at, first_contact_business_days(spa), spa.timezone),
                **{
                    name: F(name) - shift
                    for name in ("first_contact_attempt_at", "contacted_at", "closed_at", "scheduled_for")
                    if getattr(referral, name) is not None
                },
            )
        ReferralEvent.objects.filter(referral=referral).update(created_at=F("created_at") - shift)
        ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.RECEIVED).update(created_at=received_at)
    _seed_consent_and_outcomes(spa, owner)
    return len(STORIES)


# Completed demo referrals whose patients signed the authorization: (last name, share the report?).
OUTCOME_STORIES = [("Wright", True), ("Clark", False)]


def _seed_consent_and_outcomes(spa, owner):
    """Signed authorizations, one outcome report delivered to Glow Dermatology's portal, one still a draft."""

    for last_name, share in OUTCOME_STORIES:
        referral = Referral.objects.select_related("practice").get(spa=spa, patient_last_name=last_name)
        authorization_create(
            referral=referral,
            signature_method="typed",
            signer_name=referral.patient_name,
            recorded_by_label="Patient (demo)",
        )
        report = outcome_report_save(
            referral=referral,
            author=owner,
            services=[referral.scheduled_service.public_id] if referral.scheduled_service else [],
            sessions=3,
            observations="Skin calmer and less reactive after each session; no irritation from the products used.",
            recommendations="A calming facial every 4–6 weeks; fragrance-free home care; sunscreen daily.",
            measures={"skin_response": "improved", "tolerance": "good"}
            if referral.practice.specialty == "dermatology"
            else {},
        )
        if share:
            delivery = outcome_report_share(report=report, actor=owner)
            outcome_report_deliver(delivery.pk)  # at once, so the demo portal shows it without a worker


def _seed_inbound(spa):
    """Two messages waiting under Referrals → Email and text: an email from the portal user's address (matched to
    Glow Dermatology) and a text from a number nobody knows. Idempotent: each message id is taken once."""
    email = InboundEmail(
        sender=PORTAL_LOGIN[0],
        sender_name=PORTAL_LOGIN[2],
        recipients=[],
        subject="Referral: Lily Chen, calming facial after her peel",
        body=(
            "Hi,\n\nDr. Ramos would like Lily to see you for a calming facial after last week's peel.\n\n"
            "Patient: Lily Chen\nPhone: (617) 555-0320\n\nShe is happy to be called in the afternoons.\n\n"
            "Thanks,\nRosa, Glow Dermatology front desk"
        ),
        message_id="<demo-referral-0001@glowderm.example>",
    )
    inbound_email_accept(message=email, spas=[spa], actor_label="seed_demo")
    inbound_sms_accept(
        spa=spa,
        sender="+16175550399",
        body="Hi, Dr. Reyes' office here. Can we send you a patient for prenatal massage? Patient: Nora Diaz",
        message_sid="SMdemo0000000000000000000000000001",
    )


def _reasons(practice):
    return dict(reason_choices(practice.specialty))


def seed_referrals(spas):
    """Referrals, the portal login and the API key. Returns lines for seed_demo to print."""
    spa = spas.get("serenity-spa")
    if spa is None:
        return []
    with scope(spa=spa):
        owner = Membership.objects.filter(spa=spa, role=Role.OWNER).select_related("user").first().user
        glow = Practice.objects.get(spa=spa, name="Glow Dermatology")
        created = _seed_referrals(spa, owner)
        portal_email, portal_password = _portal_user(spa, glow)
        api_key = _api_key(spa, glow, owner)
        _seed_inbound(spa)
        code = glow.referral_code
        total = Referral.objects.filter(spa=spa).count()
    return [
        f"  {spa.name}: {total} referrals ({created} new)",
        f"  Partner portal (Glow Dermatology): {settings.SITE_URL}/portal/{spa.slug}/",
        f"    login: {portal_email} / {portal_password}",
        f"  Patient landing page: {settings.SITE_URL}/r/{code}",
        f"API key: {api_key}",
    ]
