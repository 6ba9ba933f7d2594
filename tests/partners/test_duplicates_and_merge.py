"""Spotting a practice the spa already has, and merging two practices into one."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django_scopes import scope

from infra.models import AuditEvent
from partners.duplicates import DuplicateIndex, practice_duplicates
from partners.models import Clinician, OfficeContact, Practice, PracticeTag, ReferralCode, Stage, StageChange, Tag
from partners.services import (
    _references_to_practice,
    clinician_save,
    practice_merge,
    practice_move_stage,
    practice_set_tags,
)

from ..factories import PracticeFactory
from .helpers import count, make_clinician, make_contact, make_practice, messages_on, page_text, reload, rows, url

EXISTING_NPI = "1234567893"


@pytest.fixture
def existing(spa):
    return make_practice(
        spa,
        name="Back Bay Dermatology",
        city="Boston",
        phone="(617) 555-0142",
        website="https://www.backbayderm.example/",
        npi=EXISTING_NPI,
    )


def _new_practice(**overrides):
    data = {
        "name": "Totally Different Name",
        "specialty": "dermatology",
        "city": "Worcester",
        "phone": "508-555-0000",
        "website": "",
        "npi": "",
        "tags": "",
    }
    data.update(overrides)
    return data


def _reasons(spa, **fields):
    with scope(spa=spa):
        return [(match.name, match.reason) for match in practice_duplicates(spa=spa, fields=fields)]


# --- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"npi": EXISTING_NPI}, "same NPI"),
        ({"phone": "617-555-0142"}, "same phone number"),
        ({"phone": "+1 (617) 555 0142"}, "same phone number"),
        ({"phone": "617.555.0142"}, "same phone number"),
        ({"website": "http://backbayderm.example"}, "same website"),
        ({"website": "https://backbayderm.example/team/dr-patel?ref=x"}, "same website"),
        ({"website": "https://WWW.BackBayDerm.example"}, "same website"),
        ({"name": "Back Bay Dermatology", "city": "Boston"}, "similar name in the same city"),
        ({"name": "The Back Bay Dermatology Group, LLC", "city": " boston "}, "similar name in the same city"),
        ({"name": "Backbay Dermatology", "city": "Boston"}, "similar name in the same city"),
    ],
)
def test_each_rule_finds_the_existing_practice(spa, existing, fields, reason):
    assert _reasons(spa, **fields) == [("Back Bay Dermatology", reason)]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Back Bay Dermatology", "city": "Cambridge"},  # same name, another city
        {"name": "Beacon Hill Dermatology", "city": "Boston"},  # another name, same city
        {"npi": "1245319599"},
        {"phone": "617-555-0143"},
        {"phone": "555-0142"},  # names no number: never the same as a valid one
        {"phone": "+44 617 555 0142"},  # the same digits in another country
        {"website": "https://backbayderm.example.org"},
        {"name": "", "city": "Boston"},
    ],
)
def test_practices_that_only_look_alike_at_a_glance_are_not_flagged(spa, existing, fields):
    assert _reasons(spa, **fields) == []


def test_the_first_rule_that_matches_is_the_reason_given_once(spa, existing):
    matches = _reasons(spa, npi=EXISTING_NPI, phone="6175550142", name="Back Bay Dermatology", city="Boston")

    assert matches == [("Back Bay Dermatology", "same NPI")]


def test_another_spas_practices_are_never_duplicates(spa, other_spa, existing):
    assert _reasons(other_spa, npi=EXISTING_NPI, name="Back Bay Dermatology", city="Boston") == []


@pytest.mark.parametrize(
    "typed", ["617-555-0142 ext. 12", "(617) 555-0142 x7", "1 617 555 0142", "16175550142", "+16175550142;ext=3"]
)
def test_the_same_line_with_an_extension_or_a_leading_1_is_the_same_phone_number(spa, existing, typed):
    assert _reasons(spa, phone=typed) == [("Back Bay Dermatology", "same phone number")]


@pytest.mark.parametrize("typed", ["020 7946 0958", "+44 20 7946 0958", "+44 (0)20 7946 0958 ext. 4"])
def test_a_uk_number_is_the_same_typed_nationally_or_with_its_country_code(spa, typed):
    spa.country = "GB"
    spa.save()
    make_practice(spa, name="Harley Street Skin", city="London", phone="+442079460958")

    assert _reasons(spa, phone=typed) == [("Harley Street Skin", "same phone number")]


def test_a_number_stored_before_validation_is_compared_in_the_spas_country(spa):
    spa.country = "GB"
    spa.save()
    with scope(spa=spa):
        PracticeFactory(spa=spa, name="Harley Street Skin", city="London", phone="020 7946 0958")  # saved as typed

    assert _reasons(spa, phone="+44 20 7946 0958") == [("Harley Street Skin", "same phone number")]


def test_the_index_can_be_filled_as_an_import_goes(spa):
    index = DuplicateIndex([])
    index.add(Practice(pk=1, name="Harbor OB-GYN", city="Salem", phone="978 555 0100"))

    assert [match.reason for match in index.matches(phone="(978) 555-0100")] == ["same phone number"]
    assert [match.reason for match in index.matches(name="Harbor OB GYN", city="Salem")] == [
        "similar name in the same city"
    ]


def test_the_index_reads_numbers_in_the_spas_country():
    index = DuplicateIndex([], region="GB")
    index.add(Practice(pk=1, name="Harley Street Skin", city="London", phone="020 7946 0958"))

    assert [match.reason for match in index.matches(phone="+44 20 7946 0958")] == ["same phone number"]
    assert DuplicateIndex([Practice(pk=1, phone="020 7946 0958")], region="US").matches(phone="+442079460958") == []


# --- warning on create ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"npi": EXISTING_NPI},
        {"phone": "617 555 0142"},
        {"website": "backbayderm.example/contact"},
        {"name": "Back Bay Dermatology Associates", "city": "Boston"},
    ],
)
def test_adding_a_lookalike_warns_links_to_it_and_saves_nothing(owner_client, spa, existing, overrides):
    response = owner_client.post(url("create", spa), _new_practice(**overrides))

    assert response.status_code == 200
    page = page_text(response)
    assert "This looks like a practice you already have" in page
    warning = page.split('id="duplicate-warning"', 1)[1].split("</div>", 1)[0]
    assert f'href="{url("detail", spa, existing.public_id)}"' in warning
    assert 'name="confirm_not_duplicate"' in page
    assert count(Practice, spa=spa) == 1


def test_ticking_save_anyway_adds_the_lookalike(owner_client, spa, existing):
    response = owner_client.post(url("create", spa), _new_practice(phone="617 555 0142", confirm_not_duplicate="on"))

    assert response.status_code == 302
    assert count(Practice, spa=spa) == 2


def test_a_practice_unlike_any_other_is_added_without_a_question(owner_client, spa, existing):
    response = owner_client.post(url("create", spa), _new_practice())

    assert response.status_code == 302
    assert count(Practice, spa=spa) == 2


def test_the_practice_page_points_out_a_likely_duplicate(owner_client, spa, manager_user, existing, client_for):
    twin = make_practice(spa, name="Back Bay Dermatology", city="Boston")

    page = page_text(client_for(manager_user).get(url("detail", spa, twin.public_id)))

    assert "Possible duplicate." in page
    assert url("detail", spa, existing.public_id) in page
    assert url("merge", spa, twin.public_id) in page


# --- merging --------------------------------------------------------------------------------------


@pytest.fixture
def twins(spa, owner, existing):
    """The survivor (the existing practice) and a duplicate full of things to carry over."""
    duplicate = make_practice(
        spa,
        actor=owner,
        name="Backbay Dermatology",
        city="Boston",
        address="12 Newbury St",
        fax="617-555-0199",
        philosophy="Whole-person care.",
        owner=owner,
        tags=["vip", "lunch done"],
    )
    with scope(spa=spa):
        practice_move_stage(practice=duplicate, to_stage=Stage.CONTACTED, actor=owner)
        practice_set_tags(practice=existing, tag_names=["vip"])  # a tag both practices carry
        clinician_save(practice=duplicate, actor=owner, fields={"first_name": "Ann", "last_name": "Lee"})
    make_clinician(duplicate, first_name="Priya", last_name="Patel")
    make_contact(duplicate, name="Dana Desk")
    return reload(existing), reload(duplicate)


def _merge(client, spa, survivor, other):
    return client.post(url("merge", spa, survivor.public_id), {"other": str(other.public_id)})


def test_merging_moves_everything_to_the_survivor_and_removes_the_duplicate(owner_client, spa, owner, twins):
    survivor, duplicate = twins
    duplicate_codes = [code.code for code in rows(ReferralCode, practice=duplicate)]
    assert len(duplicate_codes) == 2  # its own and Ann Lee's

    response = _merge(owner_client, spa, survivor, duplicate)

    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, survivor.public_id)
    assert count(Practice, pk=duplicate.pk) == 0
    assert sorted(c.last_name for c in rows(Clinician, practice=survivor)) == ["Lee", "Patel"]
    assert [c.name for c in rows(OfficeContact, practice=survivor)] == ["Dana Desk"]
    with scope(spa=spa):
        # Printed pads keep working: the old codes now lead to the survivor.
        for code in duplicate_codes:
            assert ReferralCode.objects.get(code=code).practice_id == survivor.pk
        history = list(StageChange.objects.filter(practice=survivor).values_list("from_stage", "to_stage"))
    assert ("prospect", "contacted") in history
    assert len(history) == 3  # survivor's creation, the duplicate's creation, its move
    links = rows(PracticeTag, practice=survivor)
    assert sorted(link.tag.name for link in links) == ["lunch done", "vip"]
    assert count(Tag, spa=spa, name="vip") == 1


def test_merging_fills_only_the_survivors_empty_fields(owner_client, spa, owner, twins):
    survivor, duplicate = twins

    _merge(owner_client, spa, survivor, duplicate)

    survivor = reload(survivor)
    assert survivor.name == "Back Bay Dermatology"  # kept
    assert survivor.phone == "(617) 555-0142"  # kept
    assert survivor.address == "12 Newbury St"  # filled
    assert survivor.fax == "617-555-0199"  # filled
    assert survivor.philosophy == "Whole-person care."  # filled
    assert survivor.owner == owner  # filled


def test_a_merge_is_recorded_as_one_audit_event(owner_client, spa, owner, twins):
    survivor, duplicate = twins

    _merge(owner_client, spa, survivor, duplicate)

    (event,) = rows(AuditEvent, spa=spa, action="practice.merged")
    assert event.actor == owner
    assert event.object_id == str(survivor.public_id)
    assert event.detail["merged_id"] == str(duplicate.public_id)
    assert event.detail["merged_name"] == "Backbay Dermatology"
    assert event.detail["moved"]["partners.clinician"] == 2
    assert "address" in event.detail["filled"]


def test_the_merge_page_lists_likely_duplicates_then_asks_to_confirm(owner_client, spa, twins):
    survivor, duplicate = twins

    listing = owner_client.get(url("merge", spa, survivor.public_id))
    confirm = owner_client.get(url("merge", spa, survivor.public_id, query=f"other={duplicate.public_id}"))

    assert listing.status_code == 200
    assert f'href="?other={duplicate.public_id}"' in page_text(listing)
    assert confirm.status_code == 200
    assert "Merge <strong>Backbay Dermatology</strong> into <strong>Back Bay Dermatology</strong>?" in page_text(
        confirm
    )
    assert count(Practice, pk=duplicate.pk) == 1  # looking changes nothing


def test_merging_needs_a_manager(staff_client, client_for, manager_user, spa, twins):
    survivor, duplicate = twins

    assert _merge(staff_client, spa, survivor, duplicate).status_code == 403
    assert staff_client.get(url("merge", spa, survivor.public_id)).status_code == 403
    assert count(Practice, pk=duplicate.pk) == 1

    assert _merge(client_for(manager_user), spa, survivor, duplicate).status_code == 302
    assert count(Practice, pk=duplicate.pk) == 0


def test_a_practice_cannot_be_merged_with_itself(owner_client, spa, twins):
    survivor, _duplicate = twins

    response = _merge(owner_client, spa, survivor, survivor)

    assert response.status_code == 400
    assert "Choose another practice of this spa." in page_text(response)
    assert count(Practice, pk=survivor.pk) == 1
    assert count(AuditEvent, action="practice.merged") == 0


def test_another_spas_practice_cannot_be_merged_in(owner_client, spa, other_spa, existing):
    theirs = make_practice(other_spa, name="Back Bay Dermatology", city="Boston")
    make_clinician(theirs, last_name="Theirs")

    response = _merge(owner_client, spa, existing, theirs)

    assert response.status_code == 400
    assert "Choose another practice of this spa." in page_text(response)
    assert count(Practice, pk=theirs.pk) == 1
    assert count(Clinician, practice=theirs) == 1
    assert "Theirs" not in page_text(response)


@pytest.mark.parametrize("other", ["not-a-uuid", "", "00000000-0000-4000-8000-000000000000"])
def test_nonsense_in_the_merge_form_is_an_error_not_a_crash(owner_client, spa, existing, other):
    response = owner_client.post(url("merge", spa, existing.public_id), {"other": other})

    assert response.status_code == 400
    assert count(Practice, spa=spa) == 1


def test_merging_into_another_spas_practice_is_404(owner_client, spa, other_spa, existing):
    theirs = make_practice(other_spa, name="Theirs")

    response = _merge(owner_client, spa, theirs, existing)

    assert response.status_code == 404
    assert count(Practice, pk=existing.pk) == 1


def test_the_service_refuses_a_self_merge_and_a_cross_spa_merge(spa, other_spa, existing):
    theirs = make_practice(other_spa, name="Theirs")

    with scope(spa=spa), pytest.raises(ValidationError):
        practice_merge(survivor=existing, merged=existing, actor=None)
    with scope(spa=spa), pytest.raises(ValidationError):
        practice_merge(survivor=existing, merged=theirs, actor=None)
    assert count(Practice) == 2


def test_the_merge_follows_every_foreign_key_to_practice_even_hidden_ones():
    found = {(relation.related_model._meta.label_lower, relation.field.name) for relation in _references_to_practice()}

    # Every model in the project that points at Practice, hidden reverse relations (related_name="+") included.
    expected = {
        (model._meta.label_lower, field.name)
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Practice
    }
    assert found == expected
    assert ("partners.clinician", "practice") in found


def test_the_survivor_page_says_the_merge_happened(owner_client, spa, twins):
    survivor, duplicate = twins

    response = _merge(owner_client, spa, survivor, duplicate)

    assert "Backbay Dermatology was merged into Back Bay Dermatology." in messages_on(
        owner_client.get(response["Location"])
    )
