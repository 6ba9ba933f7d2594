"""Fixtures of the fault-injection suite: a practice with a referral code and a portal user, the three
referral forms' data, and (from support.py) a private Redis server and real worker and beat subprocesses."""

import pytest
from django.urls import reverse
from django_scopes import scope

from tests.factories import PortalAccessFactory, PracticeFactory, ReferralCodeFactory, UserFactory

from .support import beats, redis_server, workers  # noqa: F401 - fixtures

LANDING_CODE = "RLB7QX"
PATIENT_IP = "203.0.113.9"


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")
        ReferralCodeFactory(spa=spa, practice=practice, code=LANDING_CODE)
    return practice


@pytest.fixture
def portal_user(practice):
    user = UserFactory(email="frida.frontdesk@brookline-derm.example", full_name="Frida Frontdesk")
    with scope(spa=practice.spa):
        PortalAccessFactory(spa=practice.spa, practice=practice, user=user)
    return user


@pytest.fixture
def portal_client(portal_user, client_for):
    return client_for(portal_user)


def portal_form_url(spa):
    return reverse("portal:referral_new", args=[spa.slug])


def landing_url():
    return reverse("public:landing", args=[LANDING_CODE])


def manual_form_url(spa):
    return reverse("referrals:create", args=[spa.slug])


def portal_form(**overrides):
    return {
        "patient_first_name": "Grace",
        "patient_last_name": "Hopper",
        "patient_phone": "(617) 555-0142",
        "patient_email": "",
        "preferred_contact_time": "Weekday mornings",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "",
        "precautions": "Recent chemical peel",
        "clinician": "",
        "patient_agreed": "on",
        **overrides,
    }


def landing_form(**overrides):
    return {
        "patient_first_name": "Maya",
        "patient_last_name": "Lopez",
        "patient_phone": "(617) 555-0123",
        "patient_email": "maya@example.com",
        "preferred_contact_method": "phone",
        "preferred_contact_time": "After 5pm",
        "reason_category": "sensitive_skin",
        "consent_to_contact": "on",
        "homepage": "",
        **overrides,
    }


def manual_form(practice, **overrides):
    return {
        "channel": "phone",
        "practice": str(practice.public_id),
        "clinician": "",
        "patient_first_name": "Maria",
        "patient_last_name": "Lopez",
        "patient_phone": "617-555-0142",
        "patient_email": "maria.lopez@example.com",
        "preferred_contact_method": "phone",
        "preferred_contact_time": "Weekday mornings",
        "patient_date_of_birth": "1984-02-29",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "Two weeks after laser resurfacing.",
        "precautions": "No retinoids.",
        "urgency": "soon",
        "consent_to_contact": "on",
        "consent_method": "verbal",
        **overrides,
    }
