"""The project, not a room of the house: settings, URLs, the Celery app and beat schedule, WSGI/ASGI, the admin
site and ``manage.py seed_demo``. It may import every package; no package imports it (spa_referrals.celery is
reached through Celery's ``current_app``, settings through ``django.conf``).
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
