"""The prospect import's worker: step by step with progress, a killed worker's import finished by the sweep, a lost
enqueue, a second delivery, a failing step, the schedule."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from partners.models import Practice, ProspectImport
from partners.prospecting import importer, services
from partners.prospecting.candidates import ProspectQuery
from partners.prospecting.sources import LocalFileSource
from partners.prospecting.tasks import prospect_import_task, prospect_imports_sweep_task
from spa_referrals.celery import app

from .nppes_samples import GLOW_NPI, PATEL_NPI, nppes_csv

Status = ProspectImport.Status


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, the open transaction is rolled back."""


@pytest.fixture
def candidates(settings, tmp_path, db):
    settings.NPI_REGISTRY_SOURCE = "file"
    path = tmp_path / "npidata.csv"
    path.write_text(nppes_csv(), encoding="utf-8")
    call_command("nppes_load", str(path), stdout=io.StringIO())
    found = LocalFileSource().search(ProspectQuery(specialty="dermatology", postal_code="02116", radius_km=15))
    assert {candidate.npi for candidate in found} >= {GLOW_NPI, PATEL_NPI}
    return [candidate for candidate in found if candidate.npi in (GLOW_NPI, PATEL_NPI)]


def _start(spa, owner, candidates, capture):
    with scope(spa=spa), capture(execute=False) as enqueued:
        job = services.prospect_import_start(
            spa=spa, actor=owner, candidates=candidates, specialty="dermatology", source_name="file"
        )
    assert len(enqueued) == 1
    return job


def _state(spa, job):
    with scope(spa=spa):
        job.refresh_from_db()
        return job.status, job.done, Practice.objects.count()


def test_each_step_commits_its_practices_with_the_progress(
    spa, owner, candidates, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(importer, "IMPORT_STEP", 1)
    job = _start(spa, owner, candidates, django_capture_on_commit_callbacks)
    seen = []
    real_step = importer._import_step

    def watching(job, step):
        seen.append(_state(spa, job))  # what the page would read before this step
        return real_step(job, step)

    monkeypatch.setattr(importer, "_import_step", watching)
    assert prospect_import_task.delay(spa.pk, job.pk).get() == Status.DONE
    assert seen == [(Status.RUNNING, 0, 0), (Status.RUNNING, 1, 1)]
    assert _state(spa, job) == (Status.DONE, 2, 2)
    assert job.finished_at is not None and len(job.created_ids) == 2


def test_a_killed_worker_leaves_the_committed_steps_and_the_sweep_finishes_without_doubles(
    spa, owner, candidates, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(importer, "IMPORT_STEP", 1)
    job = _start(spa, owner, candidates, django_capture_on_commit_callbacks)
    real_step, calls = importer._import_step, []

    def dies_in_the_second_step(job, step):
        calls.append(step)
        created = real_step(job, step)
        if len(calls) == 2:
            raise WorkerKilled  # after the second practice was written, before its step committed
        return created

    monkeypatch.setattr(importer, "_import_step", dies_in_the_second_step)
    with scope(spa=spa), pytest.raises(WorkerKilled):
        importer.prospect_import_run(job.pk)
    assert _state(spa, job) == (Status.RUNNING, 1, 1)  # the second step was rolled back whole
    monkeypatch.setattr(importer, "_import_step", real_step)

    assert importer.prospect_imports_due() == []  # its heartbeat is fresh: maybe the worker is only slow
    assert prospect_import_task.delay(spa.pk, job.pk).get() is None  # a second delivery leaves it to its worker
    later = timezone.now() + importer.IMPORT_LEASE + timedelta(seconds=1)
    assert importer.prospect_imports_due(now=later) == [(spa.pk, job.pk)]
    with scopes_disabled():
        ProspectImport.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - importer.IMPORT_LEASE * 2)
    assert prospect_imports_sweep_task.delay().get() == 1
    assert _state(spa, job) == (Status.DONE, 2, 2)
    with scope(spa=spa):
        assert Practice.objects.filter(npi=GLOW_NPI).count() == 1


def test_a_lost_enqueue_is_started_by_the_sweep(spa, owner, candidates, django_capture_on_commit_callbacks):
    job = _start(spa, owner, candidates, django_capture_on_commit_callbacks)  # the callback never runs: lost
    assert prospect_imports_sweep_task.delay().get() == 0  # a minute's grace: the worker may be on its way
    with scopes_disabled():
        ProspectImport.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert prospect_imports_sweep_task.delay().get() == 1
    assert _state(spa, job) == (Status.DONE, 2, 2)
    assert prospect_imports_sweep_task.delay().get() == 0  # finished imports are left alone


def test_a_broker_outage_at_the_enqueue_loses_nothing(
    spa, owner, candidates, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(prospect_import_task, "delay", broker_down)
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        job = services.prospect_import_start(
            spa=spa, actor=owner, candidates=candidates, specialty="dermatology", source_name="file"
        )
    assert _state(spa, job) == (Status.QUEUED, 0, 0)  # kept, for the sweep


def test_a_failing_step_fails_the_import_with_a_message_and_keeps_earlier_steps(
    spa, owner, candidates, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(importer, "IMPORT_STEP", 1)
    job = _start(spa, owner, candidates, django_capture_on_commit_callbacks)
    real_step = importer._import_step

    def second_fails(job, step):
        if job.done == 1:
            raise ValueError("the registry sent a name too long for anyone")
        return real_step(job, step)

    monkeypatch.setattr(importer, "_import_step", second_fails)
    with scope(spa=spa):
        assert importer.prospect_import_run(job.pk) == Status.FAILED
    assert _state(spa, job) == (Status.FAILED, 1, 1)
    assert "stopped after 1 of 2" in job.error and "too long" in job.error
    assert importer.prospect_imports_due(now=timezone.now() + timedelta(hours=1)) == []  # not retried for ever


@pytest.mark.parametrize("count", [0, services.MAX_IMPORT + 1])
def test_an_empty_or_oversized_choice_is_refused_and_nothing_is_kept(spa, owner, candidates, count):
    from django.core.exceptions import ValidationError

    chosen = (candidates * (count // len(candidates) + 1))[:count]
    with scope(spa=spa), pytest.raises(ValidationError):
        services.prospect_import_start(
            spa=spa, actor=owner, candidates=chosen, specialty="dermatology", source_name="file"
        )
    with scope(spa=spa):
        assert not ProspectImport.objects.exists()


def test_another_spa_never_sees_an_import(spa, other_spa, owner, candidates, django_capture_on_commit_callbacks):
    _start(spa, owner, candidates, django_capture_on_commit_callbacks)
    with scope(spa=other_spa):
        assert not ProspectImport.objects.exists()


def test_the_sweep_runs_every_minute_from_the_beat_schedule():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["partners.tasks.prospect_imports_sweep_task"] == 60.0
