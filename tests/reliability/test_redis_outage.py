"""Redis (the Celery broker and the cache) dies while a referral is being sent, from the partner portal or
the patient landing page: the referral is saved, the person sees the success page, and the spa's
notification email goes out — exactly once — after Redis comes back, when the outbox sweep runs.

A private ``redis-server`` (never the machine's) is this process's broker and cache and the worker's; it is
SIGKILLed after the form is shown and before it is sent, and comes back empty on the same port (no
persistence), so whatever the web process failed to enqueue is really gone from the broker. The email is
then sent by a real worker subprocess running the sweep, as beat does every minute.
"""

import pytest
from django.test import override_settings
from django_scopes import scopes_disabled

from infra.models import OutgoingEmail
from infra.tasks import outbox_sweep_task
from referrals.models import Channel, Referral
from tests.conftest import postgres_only, redis_only

from .conftest import PATIENT_IP, landing_form, landing_url, portal_form, portal_form_url
from .support import celery_through, needs_redis_server, submission_token, wait_until

SWEEP_TASK = "spas.tasks.outbox_sweep_task"
pytestmark = [postgres_only, redis_only, needs_redis_server, pytest.mark.django_db(transaction=True)]


def _cache_on(server):
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url(1),
            "KEY_PREFIX": "reliability",
        }
    }


def _send_portal_form(client, spa, token):
    response = client.post(portal_form_url(spa), {**portal_form(), "submission_token": token})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Referral sent" in page.content.decode()
    return Channel.PORTAL


def _send_landing_form(client, spa, token):
    response = client.post(landing_url(), {**landing_form(), "submission_token": token}, REMOTE_ADDR=PATIENT_IP)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"], REMOTE_ADDR=PATIENT_IP)
    assert page.status_code == 200
    assert "Thank you!" in page.content.decode()
    return Channel.LANDING


def _wait_for_sweeps(events, count, workers):
    return wait_until(
        lambda: len([e for e in events.all("task_finished") if e["task"] == SWEEP_TASK]) >= count,
        timeout=90,
        message=f"{count} outbox sweep(s) to finish\n{workers.logs()}",
    )


@pytest.mark.parametrize(
    "channel",
    [
        "portal",
        "landing",
    ],
)
def test_a_referral_sent_while_redis_is_down_is_saved_and_its_email_goes_out_once_redis_is_back(
    channel, redis_server, workers, spa, owner, practice, portal_client, client
):
    broker = redis_server.url(0)
    with override_settings(CACHES=_cache_on(redis_server)), celery_through(broker):
        browser = portal_client if channel == "portal" else client
        form_url = portal_form_url(spa) if channel == "portal" else landing_url()
        shown = browser.get(form_url, REMOTE_ADDR=PATIENT_IP)
        assert shown.status_code == 200

        redis_server.kill()
        send = _send_portal_form if channel == "portal" else _send_landing_form
        expected_channel = send(browser, spa, submission_token(shown))

        with scopes_disabled():
            [referral] = Referral.objects.filter(spa=spa)
            [email] = OutgoingEmail.objects.filter(spa=spa, template="referral-new")
        assert referral.channel == expected_channel
        assert referral.practice == practice
        assert email.to == owner.email
        assert email.status == OutgoingEmail.Status.PENDING  # saved, waiting: nothing could be enqueued

        redis_server.start()
        worker = workers.start(broker_url=broker, name="after-the-outage")
        outbox_sweep_task.delay()  # what beat sends every minute
        workers.events.wait_for("email_sent", timeout=90, process=worker)
        _wait_for_sweeps(workers.events, 1, workers)
        # Another minute, another sweep: nothing more goes out.
        outbox_sweep_task.delay()
        _wait_for_sweeps(workers.events, 2, workers)

    [sent] = workers.events.all("email_sent")
    assert sent["to"] == [owner.email]
    with scopes_disabled():
        email.refresh_from_db()
        assert Referral.objects.filter(spa=spa).count() == 1
    assert email.status == OutgoingEmail.Status.SENT
    assert email.attempts == 1
