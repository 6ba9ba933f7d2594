"""Fixtures every suite shares: two spas (ours and an outsider's), their people, signed-in clients."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django_scopes import scopes_disabled

from infra.models import OutgoingEmail
from spas.models import Role

from .factories import MembershipFactory, SpaFactory, UserFactory

postgres_only = pytest.mark.skipif(not settings.USING_POSTGRES, reason="needs PostgreSQL (set DATABASE_URL)")
redis_only = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)")


@pytest.fixture(autouse=True)
def _clean_cache_and_media(settings, tmp_path):
    """Rate limits live in the cache; uploads go to a per-test folder."""
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    cache.clear()


@pytest.fixture
def spa(db):
    return SpaFactory(name="Serene Test Spa", slug="serene-test")


@pytest.fixture
def other_spa(db):
    return SpaFactory(name="Outsider Wellness", slug="outsider-wellness")


def _member(spa, role, **user_fields):
    return MembershipFactory(spa=spa, role=role, user=UserFactory(**user_fields))


@pytest.fixture
def owner(spa):
    return _member(spa, Role.OWNER, email="owner@serene.example", full_name="Olivia Owner").user


@pytest.fixture
def manager_user(spa):
    return _member(spa, Role.MANAGER, email="manager@serene.example", full_name="Manny Manager").user


@pytest.fixture
def staff_user(spa):
    return _member(spa, Role.STAFF, email="staff@serene.example", full_name="Stacy Staff").user


@pytest.fixture
def outsider(other_spa):
    """Owner of another spa: signed in, but not ours."""
    return _member(other_spa, Role.OWNER, email="owner@outsider.example", full_name="Otto Outsider").user


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def staff_client(staff_user):
    return _client_for(staff_user)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(outsider)


@pytest.fixture
def client_for():
    return _client_for


@pytest.fixture
def deliver_outbox(mailoutbox):
    """Run the outbox sweep (what beat does every minute) and return the mails sent so far."""
    from infra.tasks import outbox_sweep_task

    def deliver():
        outbox_sweep_task()
        return mailoutbox

    return deliver


@pytest.fixture
def outbox_rows():
    def rows(**filters):
        with scopes_disabled():
            return list(OutgoingEmail.objects.filter(**filters).order_by("created_at", "id"))

    return rows
