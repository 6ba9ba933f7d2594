"""Issue 17 §3: log lines carry the request id, spa, user and Celery task; the request id is echoed."""

import json
import logging

from celery import shared_task
from django.http import HttpResponse
from django.test import RequestFactory

from infra.log_context import ContextFilter, JsonFormatter, RequestIdMiddleware, current_fields
from spas.tenancy import SpaTask

logger = logging.getLogger("tests.log_context")


class _Lines(logging.Handler):
    """The JSON lines a production handler would write."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def _capture():
    handler = _Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_proxy_s_request_id_is_kept_and_a_strange_one_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21e0")["X-Request-ID"] == "lb-7f3a9c21e0"

    for strange in ("short", "has spaces in it", "x" * 65, "new\nline-injected"):
        echoed = client.get("/healthz", HTTP_X_REQUEST_ID=strange)["X-Request-ID"]
        assert echoed != strange and len(echoed) == 32


def test_a_line_written_in_a_request_names_the_request_spa_and_user(spa, owner):
    handler = _capture()
    request = RequestFactory().get("/s/x/", HTTP_X_REQUEST_ID="req-0123456789")
    request._cached_user = owner  # what authentication leaves on the request once it ran

    def view(request):
        request.spa = spa  # what the tenancy middleware sets after the request id middleware ran
        logger.info("Referral %s accepted", "R-1")
        return HttpResponse()

    try:
        RequestIdMiddleware(view)(request)
    finally:
        logger.removeHandler(handler)

    [line] = handler.lines
    entry = json.loads(line)
    assert entry["message"] == "Referral R-1 accepted"
    assert (entry["request_id"], entry["spa_id"], entry["user_id"], entry["task_id"]) == (
        "req-0123456789",
        spa.pk,
        owner.pk,
        None,
    )
    assert current_fields()["request_id"] is None  # closed with the request


@shared_task(base=SpaTask, name="tests.infra.log_in_a_task")
def _log_in_a_task(spa_id):
    logger.info("working")


def test_a_line_written_in_a_task_names_the_task_and_its_spa(spa):
    handler = _capture()
    try:
        result = _log_in_a_task.delay(spa.pk)
    finally:
        logger.removeHandler(handler)

    entry = json.loads(handler.lines[0])
    assert entry["task_id"] == result.id
    assert entry["spa_id"] == spa.pk
    assert entry["request_id"] is None


def test_a_traceback_stays_inside_its_one_line():
    handler = _capture()
    try:
        try:
            raise ValueError("bad row")
        except ValueError:
            logger.exception("Import failed")
    finally:
        logger.removeHandler(handler)

    [line] = handler.lines
    assert "\n" not in line
    assert "ValueError: bad row" in json.loads(line)["exception"]
