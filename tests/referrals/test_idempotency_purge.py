from datetime import timedelta

from django.utils import timezone
from django_scopes import scope, scopes_disabled

from referrals.api.services import api_key_create
from referrals.models import IdempotencyRecord
from referrals.tasks import idempotency_records_purge_task
from tests.factories import PracticeFactory


def test_idempotency_keys_are_forgotten_after_a_day_and_fresh_ones_kept(spa, owner, other_spa, outsider):
    records = {}
    for label, the_spa, actor in (("ours", spa, owner), ("theirs", other_spa, outsider)):
        with scope(spa=the_spa):
            api_key, _raw = api_key_create(spa=the_spa, practice=PracticeFactory(spa=the_spa), name="EHR", actor=actor)
            old = IdempotencyRecord.objects.create(spa=the_spa, api_key=api_key, key=f"{label}-old", request_hash="x")
            IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
            records[label] = IdempotencyRecord.objects.create(
                spa=the_spa, api_key=api_key, key=f"{label}-new", request_hash="y"
            )

    assert idempotency_records_purge_task() == 2

    with scopes_disabled():
        assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["ours-new", "theirs-new"]
