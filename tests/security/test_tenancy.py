"""The two tenancy tests every later issue inherits: scoped models and the workspace URL walk."""

import pytest
from django.db import models
from django.test.utils import isolate_apps
from django_scopes import ScopedManager

from spas.models import Spa

from .samples import sample_values, secrets_of
from .tenancy_checks import tenant_models, unscoped_models, walk_workspace_as_outsiders, workspace_routes


def test_every_tenant_owned_model_uses_a_scoped_manager(db):
    models_with_spa = tenant_models()
    assert len(models_with_spa) >= 4  # Membership, Invitation, AuditEvent, OutgoingEmail at least
    assert unscoped_models(models_with_spa) == []


@isolate_apps("spas")
def test_the_model_check_catches_a_model_left_unscoped():
    class LeakyNote(models.Model):
        spa = models.ForeignKey(Spa, on_delete=models.CASCADE)
        objects = models.Manager()

        class Meta:
            app_label = "spas"

    class ScopedNote(models.Model):
        spa = models.ForeignKey(Spa, on_delete=models.CASCADE)
        objects = ScopedManager(spa="spa")

        class Meta:
            app_label = "spas"

    assert unscoped_models([LeakyNote, ScopedNote]) == [LeakyNote]


def test_the_walk_covers_every_workspace_url():
    routes = [route for route, _ in workspace_routes()]
    assert "s/<slug:spa_slug>/" in routes
    assert "s/<slug:spa_slug>/team/" in routes


def test_outsiders_get_404_or_login_on_every_workspace_url(spa, owner, outsider):
    report = walk_workspace_as_outsiders(values=sample_values(spa), outsider_user=outsider, secrets=secrets_of(spa))
    assert report.visited, "the walk visited nothing"
    assert report.failures == []


@pytest.mark.django_db
def test_the_walk_catches_views_left_unprotected(settings, spa, owner, outsider):
    # Take the tenancy middleware away: every workspace view is then "left unscoped",
    # and the walk must report it.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "spas.tenancy.TenancyMiddleware"]
    report = walk_workspace_as_outsiders(values=sample_values(spa), outsider_user=outsider, secrets=secrets_of(spa))
    assert any("anonymous" in failure for failure in report.failures)
    assert any("outsider" in failure for failure in report.failures)
