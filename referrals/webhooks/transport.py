"""One POST to a checked address (``addresses.Target``): pinned to that address, no redirects, short timeouts.

``http.client`` (the standard library) is enough and follows no redirect by itself: a 3xx is the answer, recorded
as a failure (Standard Webhooks: the owner should update the URL). The TCP connection goes to the address the
guard checked, while TLS verifies the certificate for the host name and the Host header names it, as for any
request to that URL. At most a short snippet of the answer's body is read and kept.
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
SNIPPET_BYTES = 200
USER_AGENT = "SpaReferrals-Webhooks/1.0"


@dataclass
class Answer:
    status: int | None = None
    snippet: str = ""
    error: str = ""
    retry_after: str = ""
    duration_ms: int = 0


def _connection(target):
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=CONNECT_TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=CONNECT_TIMEOUT_SECONDS)

    def connect_to_the_checked_address(address, timeout, source_address=None):
        # http.client asks for (host, port); the host name is not looked up again: the checked address is used.
        return socket.create_connection((target.address, address[1]), timeout, source_address)

    # http.client opens its socket through this attribute (set in HTTPConnection.__init__; HTTPSConnection wraps
    # the result in TLS for target.host), so replacing it changes where it connects and nothing else.
    connection._create_connection = connect_to_the_checked_address
    return connection


def post(target, *, body, headers):
    """POST ``body`` (bytes) to ``target`` with ``headers``; returns an ``Answer``, never raises on network errors."""
    started = time.monotonic()
    answer = Answer()
    connection = _connection(target)
    try:
        connection.connect()
        connection.sock.settimeout(READ_TIMEOUT_SECONDS)  # connecting got 5 s; waiting for the answer gets 10
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        answer.status = response.status
        answer.retry_after = response.getheader("Retry-After", "") or ""
        answer.snippet = response.read(SNIPPET_BYTES).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, ValueError) as error:
        answer.error = f"{type(error).__name__}: {error}"[:300]
    finally:
        connection.close()
        answer.duration_ms = int((time.monotonic() - started) * 1000)
    return answer
