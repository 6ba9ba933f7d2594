"""Adding, editing and viewing a practice; the NPI check digit; every field's validation."""

import pytest
from django.utils import timezone
from django_scopes import scope

from infra.models import AuditEvent
from partners.models import Practice, PracticeTag, ReferralCode, Stage, StageChange, Tag, npi_is_valid
from partners.services import parse_tags

from ..factories import PracticeFactory
from .helpers import (
    count,
    field_error,
    make_clinician,
    make_contact,
    make_practice,
    messages_on,
    page_text,
    reload,
    rows,
    url,
)

VALID_NPI = "1234567893"


def _practice_post(**overrides):
    data = {
        "name": "Back Bay Dermatology",
        "specialty": "dermatology",
        "address": "12 Newbury St",
        "city": "Boston",
        "phone": "(617) 555-0142",
        "fax": "",
        "website": "https://backbayderm.example",
        "npi": VALID_NPI,
        "size": "small",
        "source": "client_introduction",
        "introduced_by": "Mrs. Alvarez",
        "owner": "",
        "philosophy": "Whole-person skin care.",
        "published_articles": "",
        "community_involvement": "Sponsors the Back Bay 5K.",
        "tags": "",
    }
    data.update(overrides)
    return data


def _practice_fields(**overrides):
    """The same profile as service keyword fields (no tags)."""
    fields = _practice_post(**overrides)
    del fields["tags"]
    return fields


# --- the NPI check digit --------------------------------------------------------------------------


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1497758544", "1003000126"])
def test_real_npis_pass_the_check_digit(npi):
    assert npi_is_valid(npi)


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",  # wrong check digit
        "1245319598",  # one digit off
        "2134567893",  # two digits swapped
        "123456789",  # nine digits
        "12345678933",  # eleven digits
        "12345abcde",
        "1234 567893",
        "١٢٣٤٥٦٧٨٩٣",  # Arabic-Indic digits: "digits", but not an NPI
        "",
        None,
    ],
)
def test_anything_else_fails_the_check_digit(npi):
    assert not npi_is_valid(npi)


def test_a_practices_phone_key_is_kept_in_step_with_its_phone_however_it_is_saved(spa):
    spa.country = "GB"
    spa.save()
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, phone="020 7946 0958")  # typed nationally, saved as given
        assert practice.phone_normalized == "+442079460958"  # read in the spa's country

        practice.phone = "+16175550142;ext=12"
        practice.save(update_fields=["phone"])
        assert Practice.objects.get(pk=practice.pk).phone_normalized == "+16175550142"

        practice.phone = ""
        practice.save()
        assert Practice.objects.get(pk=practice.pk).phone_normalized == ""


def test_tags_are_trimmed_lowercased_and_deduplicated_in_order():
    assert parse_tags(" Lunch  done, VIP , vip,, ") == ["lunch done", "vip"]
    assert parse_tags("") == []
    assert parse_tags(None) == []


# --- adding a practice ----------------------------------------------------------------------------


def test_adding_a_practice_issues_a_code_records_the_first_stage_and_audits_it(owner_client, spa, owner):
    response = owner_client.post(url("create", spa), _practice_post(owner=str(owner.pk), tags="Lunch done, VIP , vip"))

    practice = rows(Practice, spa=spa)[0]
    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, practice.public_id)
    assert practice.name == "Back Bay Dermatology"
    assert practice.npi == VALID_NPI
    assert practice.owner == owner
    assert practice.phone_normalized == "+16175550142"
    assert practice.stage == Stage.PROSPECT
    codes = rows(ReferralCode, practice=practice)
    assert len(codes) == 1
    assert codes[0].clinician is None
    history = rows(StageChange, practice=practice)
    assert [(change.from_stage, change.to_stage, change.changed_by) for change in history] == [
        ("", Stage.PROSPECT, owner)
    ]
    assert sorted(link.tag.name for link in rows(PracticeTag, practice=practice)) == ["lunch done", "vip"]
    events = rows(AuditEvent, spa=spa, action="practice.created")
    assert [(event.object_id, event.actor) for event in events] == [(str(practice.public_id), owner)]

    page = owner_client.get(response["Location"])
    assert "Back Bay Dermatology added to your pipeline." in messages_on(page)
    assert codes[0].code in page_text(page)


def test_the_new_practice_form_offers_only_this_spas_members_as_owners(owner_client, spa, owner, outsider):
    page = page_text(owner_client.get(url("create", spa)))

    assert f'<option value="{owner.pk}">Olivia Owner</option>' in page
    assert "Otto Outsider" not in page
    assert "save it anyway" not in page


def test_the_new_practice_form_says_what_an_empty_choice_means(owner_client, spa):
    page = page_text(owner_client.get(url("create", spa)))

    assert "---------" not in page
    assert '<option value="" selected>Choose a specialty</option>' in page
    assert '<option value="" selected>Nobody yet</option>' in page
    assert page.count('<option value="" selected>Not known</option>') == 2  # size, how identified


def test_a_tag_already_in_use_is_reused_not_duplicated(owner_client, spa):
    make_practice(spa, name="First", tags=["vip"])

    owner_client.post(url("create", spa), _practice_post(tags="VIP, new"))

    assert sorted(tag.name for tag in rows(Tag, spa=spa)) == ["new", "vip"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("npi", "1234567890", "check digit"),
        ("npi", "123456789", "check digit"),
        ("npi", "12345abcde", "check digit"),
        ("npi", "١٢٣٤٥٦٧٨٩٣", "check digit"),
        ("name", "", "This field is required."),
        ("name", "x" * 161, "at most 160 characters"),
        ("specialty", "", "This field is required."),
        ("specialty", "astrology", "Select a valid choice."),
        ("website", "not a website", "Enter a valid URL."),
        ("website", "javascript:alert(1)", "Enter a valid URL."),
        ("phone", "6" * 31, "Enter a phone number such as (617) 555-0123."),
        ("phone", "call me", "Enter a phone number such as (617) 555-0123."),
        ("phone", "12", "Enter a phone number such as (617) 555-0123."),
        ("phone", "555-12", "Enter a phone number such as (617) 555-0123."),
        ("phone", "617-CALL-NOW", "Enter the phone number in digits, such as (617) 555-0123."),
        ("fax", "555-12", "Enter a phone number such as (617) 555-0123."),
        ("size", "enormous", "Select a valid choice."),
        ("owner", "999999", "Select a valid choice."),
        ("owner", "not-a-number", "Select a valid choice."),
        ("philosophy", "p" * 4001, "at most 4000 characters"),
        ("tags", "t" * 401, "at most 400 characters"),
        ("name", "Null\x00byte", "Null characters are not allowed."),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_nothing_is_created(owner_client, spa, field, value, message):
    response = owner_client.post(url("create", spa), _practice_post(**{field: value}))

    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    assert count(Practice, spa=spa) == 0
    assert count(AuditEvent, spa=spa, action="practice.created") == 0


def test_an_owner_from_another_spa_is_refused(owner_client, spa, outsider):
    response = owner_client.post(url("create", spa), _practice_post(owner=str(outsider.pk)))

    assert response.status_code == 400
    assert "Select a valid choice." in field_error(response, "owner")
    assert count(Practice) == 0


def test_the_service_refuses_an_owner_who_is_not_a_member(spa, outsider):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        make_practice(spa, name="Nope", owner=outsider)

    assert "owner" in raised.value.message_dict
    assert count(Practice) == 0


def test_the_service_refuses_a_declined_practice_without_a_reason(spa):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        make_practice(spa, name="Declined Dermatology", stage=Stage.DECLINED)

    assert "declined_reason" in raised.value.message_dict
    assert count(Practice) == 0


def test_a_website_without_a_scheme_is_saved_as_https(owner_client, spa):
    owner_client.post(url("create", spa), _practice_post(website="backbayderm.example/about"))

    assert rows(Practice, spa=spa)[0].website == "https://backbayderm.example/about"


def test_staff_can_add_practices(staff_client, spa):
    response = staff_client.post(url("create", spa), _practice_post())

    assert response.status_code == 302
    assert count(Practice, spa=spa) == 1


# --- editing --------------------------------------------------------------------------------------


def test_editing_a_practice_saves_the_changes_and_the_tags(owner_client, spa, owner, manager_user):
    practice = make_practice(spa, actor=owner, tags=["vip", "old"], **_practice_fields(owner=owner))
    form = owner_client.get(url("edit", spa, practice.public_id))
    assert 'value="old, vip"' in page_text(form)

    response = owner_client.post(
        url("edit", spa, practice.public_id),
        _practice_post(
            name="Back Bay Dermatology & Laser",
            phone="617.555.0199",
            owner=str(manager_user.pk),
            tags="vip, laser",
        ),
    )

    assert response.status_code == 302
    practice = reload(practice)
    assert practice.name == "Back Bay Dermatology & Laser"
    assert practice.phone_normalized == "+16175550199"
    assert practice.owner == manager_user
    assert sorted(link.tag.name for link in rows(PracticeTag, practice=practice)) == ["laser", "vip"]
    (event,) = rows(AuditEvent, spa=spa, action="practice.updated")
    assert sorted(event.detail["fields"]) == ["name", "owner", "phone"]


def test_a_practice_phone_is_stored_in_e164_and_edited_and_shown_nationally(owner_client, spa):
    response = owner_client.post(url("create", spa), _practice_post(phone="617.555.0142 x3", fax="6175550143"))

    assert response.status_code == 302
    (practice,) = rows(Practice, spa=spa)
    assert (practice.phone, practice.fax, practice.phone_normalized) == (
        "+16175550142;ext=3",
        "+16175550143",
        "+16175550142",
    )
    edit = page_text(owner_client.get(url("edit", spa, practice.public_id)))
    assert 'value="(617) 555-0142 ext. 3"' in edit
    detail = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    assert '<a href="tel:+1-617-555-0142;ext=3">(617) 555-0142 ext. 3</a>' in detail


def test_a_practice_typed_before_validation_still_shows_its_phone_as_typed(owner_client, spa):
    practice = make_practice(spa, name="Back Bay Dermatology", phone="ask for Dana")

    detail = page_text(owner_client.get(url("detail", spa, practice.public_id)))

    assert "ask for Dana" in detail


def test_editing_with_bad_input_changes_nothing(owner_client, spa):
    practice = make_practice(spa, name="Back Bay Dermatology", npi=VALID_NPI, tags=["vip"])

    response = owner_client.post(
        url("edit", spa, practice.public_id), _practice_post(name="Renamed", npi="1234567890", tags="other")
    )

    assert response.status_code == 400
    assert "check digit" in field_error(response, "npi")
    # The heading still names the stored practice, not the rejected input.
    assert "Edit Back Bay Dermatology" in page_text(response)
    practice = reload(practice)
    assert (practice.name, practice.npi) == ("Back Bay Dermatology", VALID_NPI)
    assert [link.tag.name for link in rows(PracticeTag, practice=practice)] == ["vip"]
    assert count(AuditEvent, spa=spa, action="practice.updated") == 0


def test_another_spas_practice_cannot_be_seen_or_edited(owner_client, spa, other_spa):
    theirs = make_practice(other_spa, name="Their Dermatology")

    assert owner_client.get(url("detail", spa, theirs.public_id)).status_code == 404
    assert owner_client.get(url("edit", spa, theirs.public_id)).status_code == 404
    response = owner_client.post(url("edit", spa, theirs.public_id), _practice_post(name="Hijacked"))
    assert response.status_code == 404
    assert reload(theirs).name == "Their Dermatology"


def test_an_unknown_practice_is_404(owner_client, spa):
    assert owner_client.get(url("detail", spa, "00000000-0000-4000-8000-000000000000")).status_code == 404
    assert owner_client.get(f"/s/{spa.slug}/partners/not-a-uuid/").status_code == 404


# --- the practice page ----------------------------------------------------------------------------


def test_the_practice_page_shows_profile_clinicians_contacts_notes_and_history(owner_client, spa, owner):
    practice = make_practice(
        spa,
        actor=owner,
        tags=["lunch done"],
        **_practice_fields(owner=owner, published_articles="Sun safety for runners (2024)"),
    )
    clinician = make_clinician(practice, first_name="Priya", last_name="Patel", credentials="MD")
    make_contact(practice, name="Dana Desk", role="office_manager", preferred_contact_method="phone")
    (code,) = rows(ReferralCode, practice=practice, clinician=None)

    response = owner_client.get(url("detail", spa, practice.public_id))

    assert response.status_code == 200
    page = page_text(response)
    for expected in [
        "Back Bay Dermatology",
        "12 Newbury St",
        "(617) 555-0142",
        "https://backbayderm.example",
        VALID_NPI,
        "Small (2–5)",
        "Client introduction",
        "introduced by Mrs. Alvarez",
        "Olivia Owner",
        code.code,
        "lunch done",
        "Priya Patel, MD",
        "Dana Desk",
        "Office manager",
        "prefers Phone",
        "Whole-person skin care.",
        "Sun safety for runners (2024)",
        "Sponsors the Back Bay 5K.",
    ]:
        assert expected in page, expected
    assert url("clinician_edit", spa, practice.public_id, clinician.public_id) in page
    history = page.split('id="stage-history"', 1)[1].split("</ol>", 1)[0]
    assert "Prospect" in history
    assert "Olivia Owner" in history


def test_a_new_practice_page_invites_adding_clinicians_and_contacts(owner_client, spa):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa)

    page = page_text(owner_client.get(url("detail", spa, practice.public_id)))

    assert "No clinicians yet." in page
    assert "No office contacts yet." in page


def test_the_practice_page_shows_when_each_stage_change_happened(owner_client, spa, owner):
    practice = make_practice(spa, actor=owner, name="Timed Dermatology")
    with scope(spa=spa):
        StageChange.objects.filter(practice=practice).update(
            changed_at=timezone.make_aware(timezone.datetime(2025, 3, 4, 15, 30))
        )

    page = page_text(owner_client.get(url("detail", spa, practice.public_id)))

    assert "March 4, 2025" in page
