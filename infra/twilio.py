"""One text message through Twilio's REST API: ``POST /2010-04-01/Accounts/{SID}/Messages.json``.

The standard library's ``http.client`` is enough (no SDK, no new dependency) and follows no redirect. The request
is form-encoded (``To``, ``From``, ``Body``) with HTTP basic auth (account SID : auth token) and short timeouts.
The answer is sorted here, so the outbox only reads ``Answer.outcome``:

- 2xx: accepted; Twilio's ``sid`` names the message.
- 429, 408, 5xx, a network error or a timeout: *transient*, worth another try later.
- 401 and 404: our credentials or account SID, not this message: transient too, so the backlog goes out once the
  operator fixes the configuration (the retries are bounded, and then the row fails, visibly).
- Any other 4xx (400 "The 'To' number is not a valid phone number", 21211; 403 "region not enabled", …):
  *permanent*, unless Twilio's error code is one it documents as temporary (``TRANSIENT_ERROR_CODES``).

The error kept is Twilio's status, error code and message, never the body we sent.
"""

import base64
import http.client
import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
ANSWER_MAX_BYTES = 64 * 1024
USER_AGENT = "SpaReferrals-Texts/1.0"
API_VERSION = "2010-04-01"

SENT, TRANSIENT, PERMANENT = "sent", "transient", "permanent"
TRANSIENT_STATUSES = {401, 404, 408, 429}
# Twilio error codes that come with a 4xx but mean "not now" rather than "never": 21611, the sending number's
# queue is full; 20429, too many requests.
TRANSIENT_ERROR_CODES = {20429, 21611}


@dataclass
class Answer:
    outcome: str
    sid: str = ""
    error: str = ""
    retry_after: str = ""


def messages_path(api_url, account_sid):
    """The Messages resource of ``account_sid`` under ``api_url`` (which may carry a path prefix)."""
    base = urlsplit(api_url).path.rstrip("/")
    return f"{base}/{API_VERSION}/Accounts/{quote(account_sid, safe='')}/Messages.json"


def _connection(api_url):
    parts = urlsplit(api_url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_SECONDS)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_SECONDS)


def _basic_auth(account_sid, auth_token):
    return "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")


def message_send(*, api_url, account_sid, auth_token, to, from_number, body):
    """Ask Twilio to send one text. Returns an ``Answer``; never raises on the network's or Twilio's errors."""
    connection = _connection(api_url)
    try:
        connection.connect()
        connection.sock.settimeout(READ_TIMEOUT_SECONDS)  # connecting got 5 s; waiting for the answer gets 10
        connection.request(
            "POST",
            messages_path(api_url, account_sid),
            body=urlencode({"To": to, "From": from_number, "Body": body}).encode(),
            headers={
                "Authorization": _basic_auth(account_sid, auth_token),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        answer = _sorted(response.status, response.read(ANSWER_MAX_BYTES), response.getheader("Retry-After") or "")
    except (OSError, http.client.HTTPException, ValueError) as error:
        answer = Answer(outcome=TRANSIENT, error=f"{type(error).__name__}: {error}"[:300])
    finally:
        connection.close()
    return answer


def _sorted(status, raw, retry_after):
    """What Twilio's answer means for this message."""
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if 200 <= status < 300:
        return Answer(outcome=SENT, sid=str(data.get("sid") or "")[:64])
    code = data.get("code")
    message = " ".join(str(data.get("message") or "").split())
    error = f"Twilio answered {status}" + (f" (error {code})" if code else "") + (f": {message}" if message else ".")
    transient = status in TRANSIENT_STATUSES or status >= 500 or code in TRANSIENT_ERROR_CODES
    return Answer(outcome=TRANSIENT if transient else PERMANENT, error=error[:500], retry_after=retry_after)
