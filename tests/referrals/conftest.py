"""Fixtures for the partner portal and landing page tests: two practices of the same spa (A: dermatology,
B: physical therapy), each with one portal user, and a practice of another spa, so every test can check
that nobody sees past their own practice."""

import pytest

from ..factories import PracticeFactory, UserFactory
from .inbound_helpers import set_up_inbound
from .portal_helpers import PORTAL_EMAIL_A, PORTAL_EMAIL_B, give_portal_access, logged_in


@pytest.fixture
def practice_a(spa):
    return PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")


@pytest.fixture
def practice_b(spa):
    return PracticeFactory(spa=spa, name="Back Bay Physical Therapy", specialty="physical_therapy")


@pytest.fixture
def other_spa_practice(other_spa):
    return PracticeFactory(spa=other_spa, name="Outsider Dermatology", specialty="dermatology")


@pytest.fixture
def portal_user_a(practice_a):
    user = UserFactory(email=PORTAL_EMAIL_A, full_name="Frida Frontdesk")
    give_portal_access(practice_a, user)
    return user


@pytest.fixture
def portal_user_b(practice_b):
    user = UserFactory(email=PORTAL_EMAIL_B, full_name="Pete Therapist")
    give_portal_access(practice_b, user)
    return user


@pytest.fixture
def portal_client_a(portal_user_a):
    return logged_in(portal_user_a)


@pytest.fixture
def portal_client_b(portal_user_b):
    return logged_in(portal_user_b)


@pytest.fixture
def inbound(settings):
    """The server set up for referrals by email and text (tests/referrals/inbound_helpers.py)."""
    return set_up_inbound(settings)
