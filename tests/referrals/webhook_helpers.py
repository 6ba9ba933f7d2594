"""A real HTTP receiver on 127.0.0.1 for the webhook tests, and an independent check of Standard Webhooks
signatures (the spec's algorithm written out with the standard library, not the package the app signs with)."""

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone
from django_scopes import scope, scopes_disabled

from referrals.models import WebhookAttempt, WebhookDelivery
from referrals.webhooks.services import webhook_endpoint_create


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Answers each POST with the next scripted ``Reply`` (then 200), and keeps what it received."""

    def __init__(self):
        self.received = []
        self.replies = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    reply = receiver.replies.pop(0) if receiver.replies else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}/hooks/spa"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def spec_signature(secret, message_id, timestamp, body):
    """``v1,`` + base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")), as the spec writes it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verified(received, secret, tolerance=300):
    """True when one of the request's signatures is the spec's for ``secret`` and its timestamp is fresh."""
    headers = received.headers
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = spec_signature(secret, headers["webhook-id"], timestamp, received.body)
    return any(hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split(" "))


def make_endpoint(spa, url, *, events=None, practice=None, actor=None, description=""):
    """An endpoint registered through the real service; returns (endpoint, secret)."""
    with scope(spa=spa):
        return webhook_endpoint_create(
            spa=spa,
            url=url,
            events=events or ["referral.received"],
            practice=practice,
            description=description,
            actor=actor,
        )


def deliveries(**filters):
    with scopes_disabled():
        return list(WebhookDelivery.objects.filter(**filters).order_by("created_at", "id"))


def attempts(**filters):
    with scopes_disabled():
        return list(WebhookAttempt.objects.filter(**filters).order_by("created_at", "id"))


def make_due(**filters):
    """Let the retries' wait pass (what the clock would do)."""
    with scopes_disabled():
        WebhookDelivery.objects.filter(**filters).update(next_attempt_at=timezone.now())
