"""factory_boy factories shared by every test suite. Later apps add theirs below."""

import datetime

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from spas.models import Invitation, Membership, Role, Spa, User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        if create:
            user.save()
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class SpaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Spa

    name = factory.Sequence(lambda n: f"Test Spa {n}")
    slug = factory.Sequence(lambda n: f"test-spa-{n}")
    timezone = "America/New_York"
    referral_email = factory.LazyAttribute(lambda spa: f"referrals@{spa.slug}.example")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    spa = factory.SubFactory(SpaFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    spa = factory.SubFactory(SpaFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.STAFF


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "partners.Practice"

    spa = factory.SubFactory(SpaFactory)
    name = factory.Sequence(lambda n: f"Practice {n} Dermatology")
    specialty = "dermatology"
    city = "Brookline"
    # 555-9xxx: a range no test's patient uses, so a scan for a patient's number never finds a practice's.
    phone = factory.Sequence(lambda n: f"(617) 555-{9000 + n % 1000:04d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Saved as given, and given its partner health as ``practice_create`` does (a trial or active partner)."""
        from spas import dependents

        practice = super()._create(model_class, *args, **kwargs)
        dependents.practices_changed(spa=practice.spa, practices=[practice])
        return practice


class ClinicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "partners.Clinician"

    practice = factory.SubFactory(PracticeFactory)
    spa = factory.SelfAttribute("practice.spa")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    credentials = "MD"
    specialty = factory.SelfAttribute("practice.specialty")


class OfficeContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "partners.OfficeContact"

    practice = factory.SubFactory(PracticeFactory)
    spa = factory.SelfAttribute("practice.spa")
    name = factory.Faker("name")
    role = "front_desk"
    email = factory.Sequence(lambda n: f"contact{n}@practice.example")


# --- the service catalog (spas/catalog.py) ---------------------------------------------------


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "spas.Service"

    spa = factory.SubFactory(SpaFactory)
    name = factory.Sequence(lambda n: f"Calming facial {n}")
    category = "facial"
    duration_minutes = 50
    price = "95.00"
    specialties = factory.LazyFunction(lambda: ["dermatology"])


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "spas.Offer"

    spa = factory.SubFactory(SpaFactory)
    title = factory.Sequence(lambda n: f"15% off a first visit ({n})")
    terms = "First visit only."
    specialties = factory.LazyFunction(list)


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "spas.Credential"

    spa = factory.SubFactory(SpaFactory)
    person = factory.Sequence(lambda n: f"Therapist {n}")
    credential = "Licensed massage therapist"
    issuer = "State board of massage therapy"
    number = factory.Sequence(lambda n: f"LMT-{n:05d}")


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "spas.Equipment"

    spa = factory.SubFactory(SpaFactory)
    name = factory.Sequence(lambda n: f"Prenatal table {n}")
    brand = "Earthlite"
    purpose = "Side-lying support with a belly cut-out."


class ProductLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "spas.ProductLine"

    spa = factory.SubFactory(SpaFactory)
    name = factory.Sequence(lambda n: f"Fragrance-free line {n}")
    brand = "Avène"
    purpose = "Sensitive and post-procedure skin."


# --- referrals (referrals/models.py) ---------------------------------------------------------------
# Rows written directly, for tests that need many referrals or one in a given state; tests of intake
# itself go through referrals.services.referral_create.


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "referrals.Referral"

    practice = factory.SubFactory(PracticeFactory)
    spa = factory.SelfAttribute("practice.spa")
    channel = "phone"
    patient_first_name = factory.Faker("first_name")
    patient_last_name = factory.Faker("last_name")
    patient_phone = factory.Sequence(lambda n: f"(617) 555-{n % 10000:04d}")
    reason_category = "other"
    consent_to_contact = True
    consent_method = "verbal"
    consent_captured_by = "Front desk"
    received_at = factory.LazyFunction(timezone.now)
    first_contact_due_at = factory.LazyAttribute(lambda referral: referral.received_at + datetime.timedelta(days=2))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Saved as given, and counted in the referral figures as ``referral_create`` counts every referral."""
        from referrals import figures

        referral = super()._create(model_class, *args, **kwargs)
        figures.referral_added(referral)
        return referral


# --- the partner portal and referral codes (referrals.portal.services, partners.ReferralCode) ---------


class ReferralCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "partners.ReferralCode"

    practice = factory.SubFactory(PracticeFactory)
    spa = factory.SelfAttribute("practice.spa")
    clinician = None
    code = factory.Sequence(lambda n: f"TC{n:04d}")


class PortalAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "referrals.PortalAccess"

    practice = factory.SubFactory(PracticeFactory)
    spa = factory.SelfAttribute("practice.spa")
    user = factory.SubFactory(UserFactory)


class PortalInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "referrals.PortalInvitation"

    practice = factory.SubFactory(PracticeFactory)
    spa = factory.SelfAttribute("practice.spa")
    email = factory.Sequence(lambda n: f"frontdesk{n}@clinic.example")


# --- outreach: letter templates (outreach/models.py) ------------------------------------------------


class LetterTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "outreach.LetterTemplate"

    spa = factory.SubFactory(SpaFactory)
    name = factory.Sequence(lambda n: f"Introduction letter {n}")
    body = (
        "Dear {clinician_title_name},\n\n"
        "{spa_name} would love to care for the patients of {practice_name}.\n\n"
        "{owner_name}"
    )
