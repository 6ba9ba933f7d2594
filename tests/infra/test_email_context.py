"""An email's context as JSON (infra.email_context): references to records, tagged dates and numbers, and
back again, with a batch's records loaded in one query per model."""

import datetime
import json
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.db.models import Q
from django.utils import translation
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext_lazy
from django_scopes import scope, scopes_disabled

from infra import email_context
from infra.email_context import UndecodableContext
from infra.models import OutgoingEmail
from partners.models import Practice
from spas.models import Role
from tests.factories import PracticeFactory, ReferralFactory, UserFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, name="Brookline Dermatology")


def _through_the_database(encoded):
    """What the worker reads: the context saved in a row's JSON column and read back."""
    with scopes_disabled():
        email = OutgoingEmail.objects.create(to="desk@derm.example", template="invitation", context=encoded)
        return OutgoingEmail.objects.get(pk=email.pk).context


def test_a_context_of_records_dates_and_numbers_round_trips_through_the_database(spa, practice, owner):
    context = {
        "spa": spa,
        "practice": practice,
        "inviter": owner,
        "due": datetime.datetime(2030, 6, 10, 15, 30, tzinfo=NEW_YORK),
        "today": datetime.date(2030, 6, 9),
        "opens_at": datetime.time(9, 15),
        "price": Decimal("129.50"),
        "token": uuid.UUID("6f1c2a9e-2b9e-4d8e-9a47-0f8d1c2b3a4d"),
        "items": [{"practice": practice, "received_at": datetime.datetime(2030, 1, 2, 3, 4, tzinfo=datetime.UTC)}],
        "pair": ("a", 1),
        "count": 3,
        "ratio": 0.25,
        "withdrawn": False,
        "note": None,
        "url": "http://testserver/s/serene-test/",
    }

    decoded = email_context.decode(_through_the_database(email_context.encode(context)))

    assert decoded == {**context, "pair": ["a", 1]}  # a tuple comes back as a list
    assert isinstance(decoded["spa"], type(spa)) and decoded["spa"] is not spa  # loaded fresh
    assert decoded["items"][0]["practice"].name == "Brookline Dermatology"
    assert decoded["due"].utcoffset() == datetime.timedelta(hours=-4)  # the same instant, on the same offset
    assert type(decoded["today"]) is datetime.date
    assert decoded["price"] == Decimal("129.50") and str(decoded["price"]) == "129.50"


def test_a_record_is_stored_as_a_reference_never_as_its_fields(spa, practice):
    with scope(spa=spa):
        referral = ReferralFactory(
            practice=practice, patient_first_name="Maria", patient_last_name="Lopez", reason_category="other"
        )

    encoded = email_context.encode({"referral": referral})

    assert encoded == {"referral": {"$model": "referrals.Referral", "pk": referral.pk}}
    assert "Maria" not in json.dumps(encoded)


def test_a_lazy_translation_is_stored_as_its_text_in_the_enqueuing_language(db):
    with translation.override("de"):
        encoded = email_context.encode({"role": gettext_lazy("Monday")})

    assert encoded == {"role": "Montag"}


def test_marked_safe_markup_stays_safe(db):
    decoded = email_context.decode(email_context.encode({"line": mark_safe("<b>Hi</b>")}))  # noqa: S308

    assert decoded == {"line": "<b>Hi</b>"}
    assert isinstance(decoded["line"], SafeData)
    assert not isinstance(email_context.decode(email_context.encode({"line": "<b>Hi</b>"}))["line"], SafeData)


def test_choices_are_stored_as_their_plain_values(db):
    assert email_context.encode({"role": Role.OWNER}) == {"role": "owner"}
    assert type(email_context.encode({"role": Role.OWNER})["role"]) is str


@pytest.mark.parametrize(
    "value",
    [Q(pk=1), object(), {1, 2}, b"bytes", datetime.timedelta(days=1)],
    ids=["q-object", "object", "set", "bytes", "timedelta"],
)
def test_a_value_json_cannot_carry_faithfully_is_refused(db, value):
    with pytest.raises(TypeError, match="cannot carry"):
        email_context.encode({"value": value})


def test_a_queryset_is_refused_pass_a_list(spa, practice):
    with scopes_disabled(), pytest.raises(TypeError, match="QuerySet"):
        email_context.encode({"practices": Practice.objects.all()})


def test_an_unsaved_record_is_refused(spa):
    with pytest.raises(TypeError, match="unsaved spas.User"):
        email_context.encode({"inviter": UserFactory.build()})


@pytest.mark.parametrize("key", ["$model", "$date", 7])
def test_a_key_that_could_pass_for_a_tag_is_refused(db, key):
    with pytest.raises(TypeError, match="keys"):
        email_context.encode({"nested": {key: "x"}})


def test_a_context_whose_record_was_deleted_cannot_be_decoded(spa, practice):
    encoded = email_context.encode({"spa": spa, "practice": practice})
    with scopes_disabled():
        Practice.objects.filter(pk=practice.pk).delete()

    with pytest.raises(UndecodableContext, match=f"The partners.Practice with pk {practice.pk} no longer exists"):
        email_context.decode(encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        {"practice": {"$model": "partners.NoSuchModel", "pk": 1}},
        {"practice": {"$model": "nonsense", "pk": 1}},
        {"due": {"$datetime": "next Tuesday"}},
        {"price": {"$decimal": "a lot"}},
        {"mystery": {"$frobnicate": "1"}},
        {"two_tags": {"$date": "2030-01-01", "$uuid": "x"}},
    ],
    ids=["unknown-model", "malformed-label", "bad-datetime", "bad-decimal", "unknown-tag", "two-tags"],
)
def test_a_malformed_context_cannot_be_decoded(db, encoded):
    with pytest.raises(UndecodableContext):
        email_context.decode(encoded)


def test_a_batch_of_contexts_loads_its_records_with_one_query_per_model(
    spa, other_spa, owner, django_assert_num_queries
):
    with scopes_disabled():
        practices = [PracticeFactory(spa=spa, name=f"Practice {number}") for number in range(5)]
        practices.append(PracticeFactory(spa=other_spa, name="Outsider Practice"))
    contexts = [
        email_context.encode({"spa": practice.spa, "practice": practice, "inviter": owner, "list": [practice]})
        for practice in practices
    ]

    with django_assert_num_queries(3):  # spas, practices, users
        objects = email_context.load_objects(contexts)
    with django_assert_num_queries(0):
        decoded = [email_context.decode(context, objects) for context in contexts]

    assert [context["practice"].name for context in decoded] == [practice.name for practice in practices]
    assert decoded[-1]["spa"] == other_spa  # the outbox serves every spa: loaded without a tenant scope
