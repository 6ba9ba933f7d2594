"""Brute-force lockout keyed on the real client IP behind a configured number of proxies.

allauth's limits (settings ACCOUNT_RATE_LIMITS): "login_failed" 10 a minute per client IP and 5 per
5 minutes per address; "request_login_code" 20 a minute per IP and 3 per address. The IP is what
spas.adapters.AccountAdapter.get_client_ip answers: with TRUSTED_PROXY_COUNT = N, the Nth address from
the right of X-Forwarded-For. Anything the client puts left of that is ignored.
"""

import re

import pytest
from django.test import Client

from tests.factories import TEST_PASSWORD

LOGIN = "/accounts/login/"
LOCKED = "Too many failed login attempts. Try again later."
PROXY = "10.0.0.2"  # the load balancer: every request arrives from it
CLIENT_A = "203.0.113.5"
CLIENT_B = "198.51.100.7"
CODE_LINE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def _via_proxy(forwarded_for):
    """A client whose requests reach the app through the proxy, which appended ``forwarded_for``."""
    return Client(REMOTE_ADDR=PROXY, headers={"x-forwarded-for": forwarded_for})


def _fail(client, email):
    response = client.post(LOGIN, {"login": email, "password": "wrong-password"})
    assert response.status_code == 200
    return response


def _lock_client_a():
    attacker = _via_proxy(CLIENT_A)
    for number in range(10):  # a different address each time: only the per-IP limit counts
        response = _fail(attacker, f"guess{number}@example.com")
        assert LOCKED not in response.content.decode()
    return attacker


def test_ten_failures_from_one_ip_lock_that_ip_and_show_the_message(owner):
    attacker = _lock_client_a()
    response = attacker.post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert response.status_code == 200  # even the right password is refused now
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in attacker.session


def test_another_ip_behind_the_same_proxy_is_not_locked(owner):
    _lock_client_a()
    response = _via_proxy(CLIENT_B).post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert not response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("spoofed", [CLIENT_B, "192.0.2.99", "not-an-ip", "127.0.0.1"])
def test_a_spoofed_entry_left_of_the_trusted_hop_does_not_change_the_key(owner, spoofed):
    _lock_client_a()
    # The attacker sends X-Forwarded-For: <spoofed>; the proxy appends the address it really saw.
    attacker = _via_proxy(f"{spoofed}, {CLIENT_A}")
    response = attacker.post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert LOCKED in response.content.decode()


def test_spoofed_entries_do_not_spread_failures_over_fresh_keys(owner):
    """Ten failures, each claiming another origin, still lock the one real client."""
    for number in range(10):
        _fail(_via_proxy(f"192.0.2.{number}, {CLIENT_A}"), f"guess{number}@example.com")
    response = _via_proxy(CLIENT_A).post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert LOCKED in response.content.decode()


def test_without_proxies_the_header_is_ignored_and_the_connection_counts(owner, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    for number in range(10):
        _fail(Client(REMOTE_ADDR=CLIENT_A, headers={"x-forwarded-for": f"192.0.2.{number}"}), f"g{number}@example.com")
    locked = Client(REMOTE_ADDR=CLIENT_A).post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert LOCKED in locked.content.decode()
    other = Client(REMOTE_ADDR=CLIENT_B).post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert other.status_code == 302


def test_five_failures_for_one_address_lock_it_from_any_ip(owner):
    for number in range(5):
        _fail(_via_proxy(f"192.0.2.{number + 10}"), owner.email)
    response = _via_proxy(CLIENT_B).post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
    assert LOCKED in response.content.decode()


def test_requesting_sign_in_codes_is_rate_limited_per_address_and_per_ip(owner, mailoutbox):
    code_url = "/accounts/login/code/"
    for _ in range(3):
        response = _via_proxy(CLIENT_A).post(code_url, {"email": owner.email})
        assert response.status_code == 302 and response["Location"] == "/accounts/login/code/confirm/"
    refused = _via_proxy(CLIENT_B).post(code_url, {"email": owner.email})  # per address, from any IP
    assert refused.status_code == 200 and LOCKED in refused.content.decode()
    # Per IP: at most twenty requests a minute, whatever the addresses; then this IP is refused, another not.
    sent = 3
    while sent < 30:
        response = _via_proxy(CLIENT_A).post(code_url, {"email": f"someone{sent}@example.com"})
        if LOCKED in response.content.decode():
            break
        sent += 1
    assert sent == 20
    fresh = _via_proxy(f"{CLIENT_A}, {CLIENT_B}")  # spoofing CLIENT_A left of the hop changes nothing
    assert fresh.post(code_url, {"email": "fresh@example.com"}).status_code == 302
    spoofing = _via_proxy(f"{CLIENT_B}, {CLIENT_A}")
    assert LOCKED in spoofing.post(code_url, {"email": "fresh2@example.com"}).content.decode()


def test_guessing_a_sign_in_code_ends_the_attempt_after_three_tries(owner, mailoutbox, outbox_rows):
    client = _via_proxy(CLIENT_A)
    assert client.post("/accounts/login/code/", {"email": owner.email}).status_code == 302
    confirm = "/accounts/login/code/confirm/"
    answers = [client.post(confirm, {"code": "WRONG-CODE"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 302]
    assert answers[-1]["Location"] == "/accounts/login/code/"  # start over: the pending sign-in is gone
    # Even the right code no longer works.
    (email,) = outbox_rows(to=owner.email)
    code = CODE_LINE.search(email.body_text).group(1)
    response = client.post(confirm, {"code": code})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
