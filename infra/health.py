"""GET /healthz: is the database reachable, and the broker (when there is one)?"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        return False
    return True


def _broker_status():
    if not settings.REDIS_URL:
        return "disabled"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception:  # noqa: BLE001
        return "unreachable"
    return "ok"


@never_cache
def healthz(request):
    database = "ok" if _database_ok() else "unreachable"
    body = {"database": database, "broker": _broker_status()}
    return JsonResponse(body, status=200 if database == "ok" else 503)
