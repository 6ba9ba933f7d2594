"""One line of JSON per log event, each carrying where it happened: request id, spa, user, Celery task.

Several web and worker processes on several hosts write to one log store; a line is only useful if it says
which request or task wrote it. The *log context* is one context variable:

- ``RequestIdMiddleware`` opens it for each request: it takes the caller's ``X-Request-ID`` when it is a sane
  token (a proxy or load balancer's id, so one id follows the request across hops), makes one otherwise, and
  echoes it on the response. The spa and user are read from the request when a line is written (the tenancy
  middleware finds the spa after this one ran; the user is read only once authentication has loaded it, so
  logging never costs a query);
- every Celery task opens it with its task id, and the spa id when the task's first argument is one (``SpaTask``);
- ``ContextFilter`` copies it onto every log record, and ``JsonFormatter`` writes the record as one JSON object.
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar

from infra.task_context import per_task

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
_context = ContextVar("log_context", default=None)


class _Context:
    __slots__ = ("request", "request_id", "spa_id", "task_id")

    def __init__(self, *, request=None, request_id="", spa_id=None, task_id=""):
        self.request, self.request_id, self.spa_id, self.task_id = request, request_id, spa_id, task_id

    def fields(self):
        spa = getattr(self.request, "spa", None)
        user = getattr(self.request, "_cached_user", None)  # set once authentication ran; never loaded here
        return {
            "request_id": self.request_id or None,
            "spa_id": getattr(spa, "pk", None) or self.spa_id,
            "user_id": user.pk if user is not None and user.is_authenticated else None,
            "task_id": self.task_id or None,
        }


def current_fields():
    """request_id, spa_id, user_id and task_id of the running request or task (None where unknown)."""
    context = _context.get()
    if context is None:
        return {"request_id": None, "spa_id": None, "user_id": None, "task_id": None}
    return context.fields()


def request_id_for(request):
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Opens the log context for the request and echoes its id on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        token = _context.set(_Context(request=request, request_id=request.request_id))
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


def _task_context(task=None, task_id=None, args=None, **kwargs):
    """A task's context: its id, and its spa when it is a tenant task (first argument the spa id)."""
    spa_id = args[0] if args and getattr(task, "takes_spa_id", False) else None
    return _Context(task_id=task_id or "", spa_id=spa_id)


def context_for_tasks():
    """Every Celery task's log lines carry its id and spa (called from infra.apps)."""
    per_task(_context, _task_context, name="log_context")


class ContextFilter(logging.Filter):
    """Puts request_id, spa_id, user_id and task_id on every record (None outside a request or task)."""

    def filter(self, record):
        for name, value in current_fields().items():
            setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the log context, and the traceback if any."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{name: getattr(record, name, None) for name in ("request_id", "spa_id", "user_id", "task_id")},
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
