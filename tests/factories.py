"""factory_boy factories shared by every test suite. Later apps add theirs below."""

import factory
from allauth.account.models import EmailAddress

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
    phone = factory.Sequence(lambda n: f"(617) 555-{n % 10000:04d}")


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
