"""The owners' webhook pages: the list and its empty state, a new endpoint (its secret shown once), errors beside
their fields, edit, disable and enable, rotate, a test event, a retry, the delivery log with response codes; staff
and managers get 403, another spa's owner and unknown ids 404, anonymous visitors the sign-in page."""

import json

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from referrals.webhooks.tasks import webhook_sweep_task

from .portal_helpers import field_error, make_referral, page_text
from .webhook_helpers import Receiver, Reply, deliveries, make_endpoint

PUBLIC_URL = "https://93.184.215.14/hooks/spa-referrals"  # accepted by the guard; nothing is ever sent there
ALL_EVENTS = [
    "referral.received",
    "referral.accepted",
    "referral.scheduled",
    "referral.completed",
    "referral.declined",
    "outcome.sent",
]


def url(spa, suffix=""):
    return f"/s/{spa.slug}/webhooks/{suffix}"


def endpoint_url(endpoint, suffix=""):
    return url(endpoint.spa, f"{endpoint.public_id}/{suffix}")


def endpoints(**filters):
    with scopes_disabled():
        return list(WebhookEndpoint.objects.filter(**filters).order_by("pk"))


def audited(spa, action):
    with scopes_disabled():
        return AuditEvent.objects.filter(spa=spa, action=action).count()


@pytest.fixture
def endpoint(spa, owner):
    made, _secret = make_endpoint(spa, PUBLIC_URL, events=ALL_EVENTS, actor=owner, description="Glow EHR")
    return made


def test_the_list_opens_on_an_empty_state_that_offers_the_first_endpoint(spa, owner_client):
    response = owner_client.get(url(spa))

    assert response.status_code == 200
    text = page_text(response)
    assert "No active endpoints" in text and "Add the first endpoint" in text
    assert 'href="/s/serene-test/webhooks/"' in text  # the settings navigation leads here


def test_a_new_endpoint_shows_its_secret_once(spa, owner, owner_client, practice_a):
    form = owner_client.get(url(spa, "new/"))
    assert form.status_code == 200
    assert page_text(form).count('checked name="events"') + page_text(form).count('name="events" value') >= 6

    response = owner_client.post(
        url(spa, "new/"),
        {"url": PUBLIC_URL, "description": "Glow EHR", "practice": practice_a.public_id, "events": ALL_EVENTS[:2]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [created] = endpoints()
    secret = page_text(response).split('id="webhook-secret" type="text" value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("whsec_")
    assert (created.url, created.practice_id, created.events) == (PUBLIC_URL, practice_a.pk, ALL_EVENTS[:2])
    assert audited(spa, "webhook_endpoint.created") == 1
    for page in (url(spa), endpoint_url(created), endpoint_url(created, "edit/")):
        assert secret not in page_text(owner_client.get(page))
    with scopes_disabled():
        audit_details = [json.dumps(event.detail) for event in AuditEvent.objects.filter(spa=spa)]
    assert not any(secret in detail for detail in audit_details)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "", "events": ["referral.received"]}, "url", "required"),
        ({"url": "http://127.0.0.1:8000/hooks", "events": ["referral.received"]}, "url", "private network"),
        ({"url": "http://169.254.169.254/latest/", "events": ["referral.received"]}, "url", "private network"),
        ({"url": "ftp://93.184.215.14/x", "events": ["referral.received"]}, "url", "valid web address"),
        ({"url": "https://no-such-host.invalid/x", "events": ["referral.received"]}, "url", "could not be found"),
        ({"url": PUBLIC_URL, "events": []}, "events", "at least one event"),
        ({"url": PUBLIC_URL, "events": ["referral.exploded"]}, "events", "valid choice"),
    ],
)
def test_a_refused_endpoint_says_why_beside_the_field_and_saves_nothing(spa, owner_client, data, field, message):
    response = owner_client.post(url(spa, "new/"), data)

    assert response.status_code == 400
    assert message in field_error(response, field)
    assert 'class="alert alert-danger error-summary" role="alert"' in page_text(response)
    assert endpoints() == []


def test_another_spas_practice_is_refused(spa, owner_client, other_spa_practice):
    response = owner_client.post(
        url(spa, "new/"), {"url": PUBLIC_URL, "practice": other_spa_practice.public_id, "events": ALL_EVENTS}
    )

    assert response.status_code == 400
    assert field_error(response, "practice")
    assert endpoints() == []


def test_editing_changes_the_events_and_keeps_the_secret(spa, owner_client, endpoint):
    secret_before = endpoint.secret_encrypted
    response = owner_client.post(
        endpoint_url(endpoint, "edit/"), {"url": PUBLIC_URL + "/v2", "description": "", "events": ["outcome.sent"]}
    )

    assert response.status_code == 302
    [edited] = endpoints()
    assert (edited.url, edited.events, edited.description) == (PUBLIC_URL + "/v2", ["outcome.sent"], "")
    assert edited.secret_encrypted == secret_before
    assert audited(spa, "webhook_endpoint.updated") == 1
    refused = owner_client.post(endpoint_url(endpoint, "edit/"), {"url": "http://10.0.0.1/x", "events": ALL_EVENTS})
    assert refused.status_code == 400 and "private network" in field_error(refused, "url")
    assert endpoints()[0].url == PUBLIC_URL + "/v2"


def test_disable_and_enable(spa, owner_client, endpoint):
    assert owner_client.post(endpoint_url(endpoint, "disable/")).status_code == 302
    assert endpoints()[0].active is False
    page = page_text(owner_client.get(endpoint_url(endpoint)))
    assert "Disabled" in page and endpoint_url(endpoint, "test/") not in page
    assert owner_client.post(endpoint_url(endpoint, "enable/")).status_code == 302
    assert endpoints()[0].active is True
    assert audited(spa, "webhook_endpoint.disabled") == audited(spa, "webhook_endpoint.enabled") == 1
    assert owner_client.get(endpoint_url(endpoint, "disable/")).status_code == 405


def test_rotating_shows_a_new_secret_once(spa, owner_client, endpoint):
    response = owner_client.post(endpoint_url(endpoint, "rotate-secret/"))

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert "New signing secret" in page_text(response) and "whsec_" in page_text(response)
    [rotated] = endpoints()
    assert rotated.previous_secret_encrypted == endpoint.secret_encrypted
    assert "The previous secret also signs until" in page_text(owner_client.get(endpoint_url(endpoint)))


def test_once_the_overlap_ends_the_page_no_longer_says_the_previous_secret_signs(spa, owner_client, endpoint):
    owner_client.post(endpoint_url(endpoint, "rotate-secret/"))
    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())

    text = page_text(owner_client.get(endpoint_url(endpoint)))

    assert "Made " in text
    assert "The previous secret also signs" not in text


def test_a_test_event_is_queued_with_a_toast_and_the_log_comes_back(spa, owner_client, endpoint):
    response = owner_client.post(endpoint_url(endpoint, "test/"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"])["showToast"]["message"].startswith("Test event queued")
    assert 'id="webhook-log"' in page_text(response) and "webhook.test" in page_text(response)
    assert [row.event_type for row in deliveries()] == ["webhook.test"]
    plain = owner_client.post(endpoint_url(endpoint, "test/"))
    assert plain.status_code == 302 and plain["Location"] == endpoint_url(endpoint)


def test_a_disabled_endpoint_gets_no_test_event(spa, owner_client, endpoint):
    owner_client.post(endpoint_url(endpoint, "disable/"))
    response = owner_client.post(endpoint_url(endpoint, "test/"), HTTP_HX_REQUEST="true")

    assert json.loads(response["HX-Trigger"])["showToast"]["level"] == "warning"
    assert deliveries() == []


def test_the_log_shows_each_attempt_with_its_answer_and_a_dead_delivery_can_be_retried(
    spa, owner, owner_client, practice_a, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    with Receiver() as receiver:
        endpoint, _secret = make_endpoint(spa, receiver.url, actor=owner)
        make_referral(practice_a)
        receiver.replies = [Reply(500, b"Internal trouble")]
        webhook_sweep_task()
    [delivery] = deliveries()
    assert delivery.status == WebhookDelivery.Status.DEAD

    page = page_text(owner_client.get(endpoint_url(endpoint)))
    assert "referral.received" in page and ">500<" in page and "Internal trouble" in page and "Gave up" in page
    assert f"deliveries/{delivery.public_id}/retry/" in page

    response = owner_client.post(endpoint_url(endpoint, f"deliveries/{delivery.public_id}/retry/"))
    assert response.status_code == 302
    [retried] = deliveries()
    assert (retried.status, retried.attempts) == (WebhookDelivery.Status.PENDING, 0)
    assert audited(spa, "webhook_delivery.retried") == 1
    again = owner_client.post(endpoint_url(endpoint, f"deliveries/{delivery.public_id}/retry/"), HTTP_HX_REQUEST="true")
    assert json.loads(again["HX-Trigger"])["showToast"]["level"] == "warning"  # pending: nothing to retry


def test_the_list_shows_the_last_answer_in_a_constant_number_of_queries(
    spa, owner, owner_client, django_assert_max_num_queries
):
    made, _secret = make_endpoint(spa, PUBLIC_URL, actor=owner)
    owner_client.get(url(spa))
    with django_assert_max_num_queries(12) as few:
        owner_client.get(url(spa))
    for index in range(10):
        another, _secret = make_endpoint(spa, PUBLIC_URL, actor=owner, description=f"System {index}")
        with scope(spa=spa):
            delivery = WebhookDelivery.objects.create(
                spa=spa, endpoint=another, event_type="webhook.test", event_id=another.public_id
            )
            WebhookAttempt.objects.create(spa=spa, endpoint=another, delivery=delivery, number=1, response_code=204)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(url(spa))
    assert page_text(response).count("data-endpoint=") == 11
    assert page_text(response).count(">204<") == 10


@pytest.mark.parametrize("role_fixture", ["staff_user", "manager_user"])
@pytest.mark.parametrize("page", ["", "new/", "{id}/", "{id}/edit/", "{id}/rotate-secret/", "{id}/test/"])
def test_staff_and_managers_cannot_manage_webhooks(request, spa, client_for, endpoint, role_fixture, page):
    client = client_for(request.getfixturevalue(role_fixture))
    address = url(spa, page.format(id=endpoint.public_id))

    response = client.post(address) if "rotate" in page or "test" in page else client.get(address)

    assert response.status_code == 403
    assert endpoints()[0].secret_encrypted == endpoint.secret_encrypted
    assert deliveries() == []


def test_another_spas_endpoint_answers_like_one_that_does_not_exist(spa, other_spa, owner_client, outsider):
    foreign, _secret = make_endpoint(other_spa, PUBLIC_URL, actor=outsider, description="Outsider system")

    for suffix in ("", "edit/"):
        response = owner_client.get(url(spa, f"{foreign.public_id}/{suffix}"))
        missing = owner_client.get(url(spa, f"00000000-0000-4000-8000-000000000000/{suffix}"))
        assert response.status_code == missing.status_code == 404
        assert response.content == missing.content
    assert owner_client.post(url(spa, f"{foreign.public_id}/disable/")).status_code == 404
    assert endpoints(spa=other_spa)[0].active is True


def test_outsiders_and_anonymous_visitors_are_kept_out(spa, endpoint, outsider_client, client):
    assert outsider_client.get(url(spa)).status_code == 404
    assert outsider_client.get(endpoint_url(endpoint)).status_code == 404
    response = client.get(endpoint_url(endpoint))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
