"""GET /healthz: what a load balancer and an operator read."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from tests.conftest import redis_only

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_the_broker_disabled_when_there_is_no_redis(client, settings):
    settings.REDIS_URL = ""

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "disabled"}
    assert "no-cache" in response["Cache-Control"]


@redis_only
def test_healthz_reports_a_reachable_redis_broker(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_reports_an_unreachable_broker_but_stays_up(client, settings):
    # Web requests still work without the broker: emails wait in the outbox for the sweep.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "unreachable"}


def test_healthz_answers_503_when_the_database_is_unreachable(client, settings):
    settings.REDIS_URL = ""
    refused = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    with mock.patch.object(connection, "cursor", side_effect=refused):
        response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"database": "unreachable", "broker": "disabled"}
