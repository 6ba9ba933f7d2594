"""The README's receiver example ("Webhooks") is run as written: it accepts a real signed delivery and refuses a
forged one."""

import http.client
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.conf import settings as django_settings
from django_scopes import scopes_disabled

from referrals.models import WebhookDelivery
from referrals.webhooks.tasks import webhook_sweep_task

from .portal_helpers import make_referral
from .webhook_helpers import make_endpoint


def _readme_receiver_code():
    readme = (django_settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Webhooks\n", 1)[1].split("\n### ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    return code


@pytest.fixture
def server():
    """A server on 127.0.0.1 whose handler the test sets once it knows the endpoint's secret."""
    running = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()
    running.server_close()


def _load_readme_receiver(monkeypatch, secret):
    """The README's code with WEBHOOK_SECRET set, loaded as a module (not __main__: the test serves it)."""
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    namespace = {"__name__": "readme_receiver"}
    exec(compile(_readme_receiver_code(), "README.md (Webhooks)", "exec"), namespace)  # noqa: S102 - our README
    return namespace


def _forged_post(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "POST",
            "/",
            body=b'{"type":"referral.completed","data":{}}',
            headers={
                "webhook-id": "msg_forged",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            },
        )
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_the_readme_receiver_accepts_a_real_delivery_and_refuses_a_forged_one(
    spa, practice_a, owner, settings, server, monkeypatch, capsys
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    _endpoint, secret = make_endpoint(spa, f"http://127.0.0.1:{server.server_port}/", actor=owner)
    receiver = _load_readme_receiver(monkeypatch, secret)
    server.RequestHandlerClass = receiver["Receiver"]
    referral = make_referral(practice_a)

    assert webhook_sweep_task() == 1

    with scopes_disabled():
        delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_response_code) == (WebhookDelivery.Status.SUCCEEDED, 204)
    assert receiver["seen"] == {delivery.message_id}
    assert str(referral.public_id) in capsys.readouterr().out
    assert _forged_post(server.server_port) == (400, b"no valid signature")
    assert receiver["seen"] == {delivery.message_id}
