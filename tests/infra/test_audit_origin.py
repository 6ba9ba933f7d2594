"""Issue 16 §5: an audit event's actor and IP come from the audit origin, not from ``request=`` arguments."""

from celery import shared_task
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django_scopes import scope, scopes_disabled

from infra.audit import NOBODY, AuditOrigin, AuditOriginMiddleware, audit_origin, audit_record
from infra.models import AuditEvent
from spas.tenancy import SpaTask, for_each_spa


def _request(user, ip="203.0.113.9"):
    request = RequestFactory().post("/anything", REMOTE_ADDR=ip)
    request.user = user
    return request


def _latest(spa):
    with scope(spa=spa):
        return AuditEvent.objects.order_by("-id").first()


def test_a_request_s_service_call_records_its_user_and_ip_without_being_handed_the_request(spa, owner):
    def view(request):
        with scope(spa=spa):
            audit_record(spa=spa, action="spa.updated", obj=spa)  # no request=, no actor=
        return HttpResponse()

    AuditOriginMiddleware(view)(_request(owner))

    event = _latest(spa)
    assert (event.actor, event.ip_address) == (owner, "203.0.113.9")


def test_the_user_is_read_when_the_event_is_written_so_a_later_sign_in_counts(spa, owner):
    request = _request(AnonymousUser())

    def view(request):
        request.user = owner  # what DRF's authentication or a sign-in view does after the middleware ran
        with scope(spa=spa):
            audit_record(spa=spa, action="spa.updated", obj=spa)
        return HttpResponse()

    AuditOriginMiddleware(view)(request)

    assert _latest(spa).actor == owner


def test_an_explicit_actor_wins_over_the_origin(spa, owner, staff_user):
    with audit_origin(AuditOrigin(_request(owner))), scope(spa=spa):
        audit_record(spa=spa, action="spa.updated", obj=spa, actor=staff_user)

    assert _latest(spa).actor == staff_user


def test_outside_a_request_nobody_acted_and_there_is_no_ip(spa):
    with scope(spa=spa):
        audit_record(spa=spa, action="spa.updated", obj=spa)

    event = _latest(spa)
    assert (event.actor, event.ip_address) == (None, None)


@shared_task(base=SpaTask, name="tests.infra.audit_in_a_task")
def _audit_in_a_task(spa_id):
    from spas.models import Spa

    audit_record(spa=Spa.objects.get(pk=spa_id), action="task.ran")


def test_a_task_run_eagerly_inside_a_request_does_not_borrow_the_request_s_user(spa, owner):
    with audit_origin(AuditOrigin(_request(owner))):
        _audit_in_a_task.delay(spa.pk)

    event = _latest(spa)
    assert (event.action, event.actor, event.ip_address) == ("task.ran", None, None)


def test_the_fan_out_over_spas_works_as_nobody(spa, owner):
    def work(each_spa):
        if each_spa == spa:
            audit_record(spa=each_spa, action="job.ran")
        return 1

    with audit_origin(AuditOrigin(_request(owner))):
        for_each_spa(work)

    with scopes_disabled():
        event = AuditEvent.objects.get(action="job.ran")
    assert event.actor is None


def test_the_origin_is_restored_after_the_block(owner):
    origin = AuditOrigin(_request(owner))
    with audit_origin(origin):
        with audit_origin(NOBODY):
            pass
        from infra.audit import current_origin

        assert current_origin() is origin


@shared_task(name="tests.infra.audit_in_a_plain_task")
def _audit_in_a_plain_task(spa_id):
    from spas.models import Spa

    spa = Spa.objects.get(pk=spa_id)
    with scope(spa=spa):
        audit_record(spa=spa, action="plain_task.ran")


def test_any_task_run_eagerly_inside_a_request_works_as_nobody(spa, owner):
    origin = AuditOrigin(_request(owner))
    with audit_origin(origin):
        _audit_in_a_plain_task.delay(spa.pk)
        from infra.audit import current_origin

        assert current_origin() is origin  # restored once the task is done

    event = _latest(spa)
    assert (event.action, event.actor, event.ip_address) == ("plain_task.ran", None, None)
