"""The audit trail: one append-only row per thing done to a spa's data, with who did it and from where.

Who and from where come from the *audit origin* of the code that runs: ``AuditOriginMiddleware`` sets it for
each request (its signed-in user, read when the event is written, so an API key's or an allauth sign-in's user
counts; and the client's IP), and every Celery task (``infra.task_context``) and the fan-out over spas set an
empty one for background work, so a task run eagerly inside a request does not borrow the request's user. Services
therefore do not thread ``request=`` through their signatures for a correct audit row; an explicit ``actor`` wins.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from infra.client_ip import client_ip
from infra.models import AuditEvent
from infra.task_context import per_task


@dataclass(frozen=True)
class AuditOrigin:
    """Where the running code was asked from: a request (its user and IP) or nobody (a task, a command)."""

    request: object = None

    @property
    def actor(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None

    @property
    def ip_address(self):
        return client_ip(self.request)


NOBODY = AuditOrigin()
_origin = ContextVar("audit_origin", default=NOBODY)


@contextmanager
def audit_origin(origin):
    """Run the block with ``origin`` as the audit origin (``NOBODY`` for background work)."""
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)


def current_origin():
    return _origin.get()


def nobody_for_tasks():
    """Every Celery task works as nobody, even run eagerly inside a request (called from infra.apps)."""
    per_task(_origin, lambda **task: NOBODY, name="audit_origin")


class AuditOriginMiddleware:
    """Every request's code writes audit events as the request's user, from the request's IP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_origin(AuditOrigin(request)):
            return self.get_response(request)


def audit_record(*, spa, action, actor=None, obj=None, object_type="", object_id="", actor_label="", detail=None):
    """Append one audit event: who did what to which object, when, from which IP (the audit origin's).

    ``actor`` names someone else than the origin's user (the owner a task acts for, say); ``actor_label`` says who
    acted when it was not a user (an API key, a patient, the system).
    """
    origin = current_origin()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "public_id", None) or obj.pk)
    if actor is None:
        actor = origin.actor
    return AuditEvent.objects.create(
        spa=spa,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label[:255],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip_address=origin.ip_address,
        detail=detail or {},
    )
