"""The guard against server-side request forgery, on save and again at delivery, and the signature against the
Standard Webhooks spec's published test vector."""

import socket
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope
from standardwebhooks import Webhook

from referrals.models import WebhookDelivery, WebhookEndpoint
from referrals.webhooks import addresses, signing
from referrals.webhooks.addresses import AddressRefused, url_checked
from referrals.webhooks.services import webhook_endpoint_create
from referrals.webhooks.tasks import webhook_sweep_task

from .portal_helpers import make_referral
from .webhook_helpers import Receiver, attempts, deliveries, make_endpoint

PUBLIC = "93.184.215.14"  # a global unicast address; nothing here ever connects to it

REFUSED = {
    "loopback": "http://127.0.0.1:8000/hooks",
    "loopback, elsewhere in 127/8": "https://127.8.9.10/hooks",
    "private 10/8": "https://10.1.2.3/hooks",
    "private 192.168/16": "https://192.168.1.20/hooks",
    "private 172.16/12": "https://172.20.0.5/hooks",
    "cloud metadata (link-local)": "http://169.254.169.254/latest/meta-data/",
    "IPv6 loopback": "https://[::1]:8443/hooks",
    "IPv6 unique local": "https://[fd00::1]/hooks",
    "IPv4 written as IPv6": "https://[::ffff:127.0.0.1]/hooks",
    "a name that resolves to loopback": "http://localhost:8000/hooks",
    "carrier-grade NAT": "https://100.64.0.1/hooks",
    "unspecified": "https://0.0.0.0/hooks",  # noqa: S104 - the address under test, not one we bind
    "multicast": "https://224.0.0.1/hooks",
}


@pytest.mark.parametrize("case", REFUSED)
def test_private_loopback_and_link_local_addresses_are_refused(case, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(AddressRefused):
        url_checked(REFUSED[case])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.215.14/hooks",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "https://user:password@93.184.215.14/hooks",
        "https://no-such-host.invalid/hooks",
        "https:///hooks",
        "https://93.184.215.14:99999/hooks",
        "not a url",
        "",
    ],
)
def test_other_schemes_credentials_and_unknown_hosts_are_refused(url):
    with pytest.raises(AddressRefused):
        url_checked(url)


def test_a_public_address_over_https_is_accepted_and_plain_http_to_it_is_not():
    target = url_checked(f"https://{PUBLIC}/hooks/spa?x=1")
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        PUBLIC,
        443,
        "/hooks/spa?x=1",
        PUBLIC,
    )
    with pytest.raises(AddressRefused, match="https"):
        url_checked(f"http://{PUBLIC}/hooks")


def test_a_name_is_refused_if_any_of_its_addresses_is_private(monkeypatch):
    """DNS is outside the machine: its answers are made up here."""
    answers = {"hooks.example.com": [PUBLIC, "10.0.0.7"], "ehr.example.com": [PUBLIC]}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror("unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(AddressRefused, match="private"):
        url_checked("https://hooks.example.com/x")
    assert url_checked("https://ehr.example.com/x").address == PUBLIC


def test_the_operator_setting_allows_private_addresses_but_never_multicast_or_unspecified(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    assert url_checked("http://127.0.0.1:9/hooks").address == "127.0.0.1"
    assert url_checked("http://localhost:9/hooks").address in {"127.0.0.1", "::1"}
    assert url_checked("http://169.254.169.254/").address == "169.254.169.254"
    for url in ("https://224.0.0.1/hooks", "https://0.0.0.0/hooks"):  # noqa: S104
        with pytest.raises(AddressRefused):
            url_checked(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hooks", "http://169.254.169.254/", "https://[::1]/x"])
def test_saving_an_endpoint_at_a_private_address_is_refused_beside_the_url(url, spa, owner, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        webhook_endpoint_create(spa=spa, url=url, events=["referral.received"], actor=owner)
    assert set(refused.value.message_dict) == {"url"}
    with scope(spa=spa):
        assert not WebhookEndpoint.objects.exists()


def test_an_address_that_became_private_is_refused_at_delivery_and_nothing_is_sent(spa, practice_a, owner, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    with Receiver() as receiver:
        make_endpoint(spa, receiver.url, actor=owner)
        make_referral(practice_a)
        settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False  # (or the name now resolves somewhere private)

        webhook_sweep_task()

        assert receiver.received == []
    [delivery] = deliveries()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "private network" in delivery.last_error
    [attempt] = attempts()
    assert attempt.response_code is None and "private network" in attempt.error


def test_the_signature_matches_the_specs_published_test_vector():
    headers = signing.signature_headers(
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body='{"test": 2432232314}',
        secrets_in_use=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_our_secrets_have_the_standard_shape_and_verify_with_the_maintained_library():
    secret = signing.secret_new()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    now = int(datetime.now(tz=UTC).timestamp())
    headers = signing.signature_headers(message_id="msg_x", timestamp=now, body='{"a":"é"}', secrets_in_use=[secret])
    assert Webhook(secret).verify('{"a":"é"}', headers) == {"a": "é"}
    assert signing.secret_decrypt(signing.secret_encrypt(secret)) == secret
