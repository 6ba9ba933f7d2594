"""The shape every tenant row shares: which spa it belongs to, and a manager that refuses to forget it.

``TenantModel`` is the one declaration of a tenant-owned model: a ``spa`` foreign key to ``settings.TENANT_MODEL``
(named by setting, like ``AUTH_USER_MODEL``, so this floor imports no feature app) and ``objects``, a django-scopes
manager that raises when queried outside ``scope(spa=…)``. Row-level security (spas/rls.py) finds the tenant
tables as the concrete subclasses of ``TenantModel``; a model that needs another reverse name or a nullable spa
overrides the field and stays a tenant model.

``PublicId`` (the UUID that URLs and the API show instead of the row's number) and ``CreatedAt`` are the two
other fields most tenant rows repeat; mix them in where a row has them.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager


class TenantModel(models.Model):
    spa = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(spa="spa")

    class Meta:
        abstract = True


class PublicId(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class CreatedAt(models.Model):
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
