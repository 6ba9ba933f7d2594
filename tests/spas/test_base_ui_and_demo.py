"""The pieces of the foundation every page and task relies on: error pages, the task base, demo data."""

import io

import pytest
from celery import shared_task
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from referrals.models import OutcomeReport
from spas.models import Membership, Spa, User
from spas.tenancy import SpaTask


@shared_task(base=SpaTask, name="tests.count_memberships_task")
def count_memberships_task(spa_id):
    # No explicit spa filter: the scope that SpaTask activates does the filtering.
    return sorted(Membership.objects.values_list("user__email", flat=True))


def test_spa_task_runs_inside_the_scope_of_the_spa_it_is_given(spa, owner, other_spa, outsider):
    result = count_memberships_task.delay(spa.pk).get()
    assert result == [owner.email]
    assert count_memberships_task.delay(other_spa.pk).get() == [outsider.email]


def test_spa_task_for_a_deleted_spa_does_nothing(db):
    assert count_memberships_task.delay(987654).get() is None


def test_missing_pages_get_the_friendly_404(owner_client):
    response = owner_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We couldn't find that page." in response.content


def test_server_errors_get_the_friendly_500_without_touching_the_database(db, settings):
    from infra.errors import server_error

    response = server_error(None)
    assert response.status_code == 500
    assert b"Something went wrong on our side." in response.content


def test_seed_demo_is_idempotent_and_prints_every_login(db):
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    with scopes_disabled():
        counts = (User.objects.count(), Spa.objects.count(), Membership.objects.count())
    second = io.StringIO()
    call_command("seed_demo", stdout=second)
    with scopes_disabled():
        assert (User.objects.count(), Spa.objects.count(), Membership.objects.count()) == counts
    output = second.getvalue()
    assert "owner@serenity.example / serenity-demo" in output
    assert "owner@harbor.example / harbor-demo" in output
    assert set(Spa.objects.values_list("slug", flat=True)) >= {"serenity-spa", "harbor-wellness"}


@pytest.mark.django_db
def test_demo_logins_work_and_each_owner_sees_only_their_spa():
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": "owner@serenity.example", "password": "serenity-demo"}, follow=True
    )
    assert response.status_code == 200
    assert b"Serenity Day Spa" in response.content
    assert client.get("/s/harbor-wellness/").status_code == 404


@pytest.mark.django_db
def test_the_demo_portal_user_reads_a_shared_outcome_report():
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    client.post(reverse("account_login"), {"login": "frontdesk@glowderm.example", "password": "glowderm-demo"})
    page = client.get("/portal/serenity-spa/outcomes/")
    assert page.status_code == 200
    assert b"Ella Wright" in page.content
    with scopes_disabled():
        assert OutcomeReport.objects.filter(status="draft").count() == 1
