"""When the spa first reached the patient (Referral.contacted_at): the funnel's "contacted" step."""

import importlib

from django.apps import apps
from django_scopes import scope, scopes_disabled

from referrals import services
from referrals.models import Referral, ReferralEvent

from .portal_helpers import make_referral

backfill = importlib.import_module("referrals.migrations.0005_referral_contacted_at").backfill_contacted_at


def _reload(referral):
    with scopes_disabled():
        return Referral.objects.get(pk=referral.pk)


def test_reaching_the_patient_sets_it_once(practice_a, owner):
    referral = make_referral(practice_a)
    with scope(spa=practice_a.spa):
        services.referral_transition(referral=referral, to_status="accepted", actor=owner)
        services.referral_log_attempt(referral=referral, outcome="no_answer", actor=owner)
        assert _reload(referral).contacted_at is None
        services.referral_log_attempt(referral=referral, outcome="reached", actor=owner)
        first = _reload(referral).contacted_at
        assert first is not None
        services.referral_log_attempt(referral=referral, outcome="reached", actor=owner)
    assert _reload(referral).contacted_at == first


def test_marking_contacted_from_unreachable_sets_it(practice_a, owner):
    referral = make_referral(practice_a)
    with scope(spa=practice_a.spa):
        services.referral_transition(referral=referral, to_status="accepted", actor=owner)
        services.referral_transition(referral=referral, to_status="unreachable", actor=owner)
        assert _reload(referral).contacted_at is None
        services.referral_transition(referral=referral, to_status="contacted", actor=owner)
    assert _reload(referral).contacted_at is not None


def test_the_migration_fills_it_from_the_timeline(practice_a, owner):
    reached = make_referral(practice_a)
    with scope(spa=practice_a.spa):
        services.referral_transition(referral=reached, to_status="accepted", actor=owner)
        services.referral_log_attempt(referral=reached, outcome="reached", actor=owner)
        event_time = ReferralEvent.objects.get(referral=reached, to_status="contacted").created_at
    untouched = make_referral(practice_a)
    with scopes_disabled():  # (migrations see plain managers; the live models here are scoped)
        Referral.objects.update(contacted_at=None)
        backfill(apps, None)
    assert _reload(reached).contacted_at == event_time
    assert _reload(untouched).contacted_at is None
