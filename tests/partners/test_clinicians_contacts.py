"""The people at a practice: clinicians (with their own referral codes) and office contacts."""

import pytest

from infra.models import AuditEvent
from partners.models import Clinician, OfficeContact, ReferralCode

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

VALID_NPI = "1245319599"


@pytest.fixture
def practice(spa):
    return make_practice(spa, name="Back Bay Dermatology", specialty="dermatology")


def _clinician_post(**overrides):
    data = {
        "first_name": "Priya",
        "last_name": "Patel",
        "credentials": "MD, FAAD",
        "specialty": "",
        "email": "ppatel@backbayderm.example",
        "phone": "617-555-0150",
        "npi": VALID_NPI,
    }
    data.update(overrides)
    return data


def _contact_post(**overrides):
    data = {
        "name": "Dana Desk",
        "role": "office_manager",
        "email": "dana@backbayderm.example",
        "phone": "617-555-0151",
        "preferred_contact_method": "phone",
    }
    data.update(overrides)
    return data


# --- clinicians -----------------------------------------------------------------------------------


def test_adding_a_clinician_gives_them_their_own_referral_code(owner_client, spa, owner, practice):
    response = owner_client.post(url("clinician_create", spa, practice.public_id), _clinician_post())

    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, practice.public_id)
    (clinician,) = rows(Clinician, practice=practice)
    assert (clinician.first_name, clinician.last_name, clinician.credentials) == ("Priya", "Patel", "MD, FAAD")
    assert clinician.npi == VALID_NPI
    assert clinician.spa == spa
    assert clinician.specialty == "dermatology"  # taken from the practice when left empty
    assert clinician.title_name == "Dr. Patel"
    (code,) = rows(ReferralCode, clinician=clinician)
    assert code.practice == practice
    (event,) = rows(AuditEvent, spa=spa, action="clinician.created")
    assert event.actor == owner

    page = owner_client.get(response["Location"])
    assert "Clinician saved." in messages_on(page)
    assert "Priya Patel, MD, FAAD" in page_text(page)
    assert code.code in page_text(page)


def test_the_add_clinician_form_is_labelled(owner_client, spa, practice):
    response = owner_client.get(url("clinician_create", spa, practice.public_id))

    assert response.status_code == 200
    page = page_text(response)
    assert "Add a clinician to Back Bay Dermatology" in page
    assert '<label class="form-label" for="id_last_name">' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "This field is required."),
        ("last_name", "", "This field is required."),
        ("last_name", "x" * 81, "at most 80 characters"),
        ("email", "not-an-email", "Enter a valid email address."),
        ("npi", "1245319590", "check digit"),
        ("npi", "124531959", "check digit"),
        ("npi", "NPI1245319", "check digit"),
        ("specialty", "astrology", "Select a valid choice."),
        ("phone", "555-12", "Enter a phone number such as (617) 555-0123."),
        ("phone", "617-CALL-NOW", "Enter the phone number in digits, such as (617) 555-0123."),
    ],
)
def test_bad_clinician_input_is_shown_beside_the_field_and_nothing_is_saved(
    owner_client, spa, practice, field, value, message
):
    response = owner_client.post(url("clinician_create", spa, practice.public_id), _clinician_post(**{field: value}))

    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    assert count(Clinician, practice=practice) == 0
    assert count(ReferralCode, practice=practice, clinician__isnull=False) == 0


def test_editing_a_clinician_keeps_their_code(owner_client, spa, owner, practice):
    owner_client.post(url("clinician_create", spa, practice.public_id), _clinician_post())
    (clinician,) = rows(Clinician, practice=practice)
    (code,) = rows(ReferralCode, clinician=clinician)

    form = owner_client.get(url("clinician_edit", spa, practice.public_id, clinician.public_id))
    response = owner_client.post(
        url("clinician_edit", spa, practice.public_id, clinician.public_id),
        _clinician_post(last_name="Patel-Shah", credentials="DO", specialty="dermatology"),
    )

    assert 'value="Patel"' in page_text(form)
    assert response.status_code == 302
    clinician = reload(clinician)
    assert (clinician.last_name, clinician.credentials) == ("Patel-Shah", "DO")
    assert [c.code for c in rows(ReferralCode, clinician=clinician)] == [code.code]
    assert count(AuditEvent, spa=spa, action="clinician.updated") == 1


def test_a_bad_clinician_edit_changes_nothing(owner_client, spa, practice):
    clinician = make_clinician(practice, first_name="Priya", last_name="Patel", email="")

    response = owner_client.post(
        url("clinician_edit", spa, practice.public_id, clinician.public_id),
        _clinician_post(last_name="Changed", email="broken"),
    )

    assert response.status_code == 400
    assert "Enter a valid email address." in field_error(response, "email")
    assert "Edit Priya Patel" in page_text(response)
    assert reload(clinician).last_name == "Patel"


def test_removing_a_clinician(owner_client, spa, practice):
    clinician = make_clinician(practice, first_name="Priya", last_name="Patel")

    response = owner_client.post(url("clinician_delete", spa, practice.public_id, clinician.public_id))

    assert response.status_code == 302
    assert count(Clinician, pk=clinician.pk) == 0
    (event,) = rows(AuditEvent, spa=spa, action="clinician.deleted")
    assert event.detail == {"name": "Priya Patel, MD"}
    assert "Priya Patel, MD removed." in messages_on(owner_client.get(response["Location"]))


def test_removing_is_post_only(owner_client, spa, practice):
    clinician = make_clinician(practice)

    assert owner_client.get(url("clinician_delete", spa, practice.public_id, clinician.public_id)).status_code == 405
    assert count(Clinician, pk=clinician.pk) == 1


def test_another_practices_clinician_is_404_under_this_practice(owner_client, spa, practice):
    elsewhere = make_practice(spa, name="Harbor OB-GYN", specialty="ob_gyn")
    theirs = make_clinician(elsewhere, last_name="Elsewhere")

    assert owner_client.get(url("clinician_edit", spa, practice.public_id, theirs.public_id)).status_code == 404
    edit = owner_client.post(url("clinician_edit", spa, practice.public_id, theirs.public_id), _clinician_post())
    delete = owner_client.post(url("clinician_delete", spa, practice.public_id, theirs.public_id))

    assert edit.status_code == 404
    assert delete.status_code == 404
    assert reload(theirs).last_name == "Elsewhere"


def test_another_spas_clinician_is_404(owner_client, spa, other_spa, practice):
    theirs = make_clinician(make_practice(other_spa, name="Theirs"), last_name="Theirs")

    assert owner_client.get(url("clinician_edit", spa, practice.public_id, theirs.public_id)).status_code == 404
    assert owner_client.post(url("clinician_delete", spa, practice.public_id, theirs.public_id)).status_code == 404
    assert count(Clinician, pk=theirs.pk) == 1


def test_a_clinician_cannot_be_added_to_another_spas_practice(owner_client, spa, other_spa):
    theirs = make_practice(other_spa, name="Theirs")

    response = owner_client.post(url("clinician_create", spa, theirs.public_id), _clinician_post())

    assert response.status_code == 404
    assert count(Clinician) == 0


# --- office contacts ------------------------------------------------------------------------------


def test_adding_an_office_contact(owner_client, spa, owner, practice):
    response = owner_client.post(url("contact_create", spa, practice.public_id), _contact_post())

    assert response.status_code == 302
    (contact,) = rows(OfficeContact, practice=practice)
    assert (contact.name, contact.role, contact.preferred_contact_method) == ("Dana Desk", "office_manager", "phone")
    assert contact.spa == spa
    assert count(AuditEvent, spa=spa, action="contact.created") == 1
    page = page_text(owner_client.get(response["Location"]))
    assert "Dana Desk" in page
    assert "prefers Phone" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "n" * 121, "at most 120 characters"),
        ("email", "dana@", "Enter a valid email address."),
        ("role", "surgeon", "Select a valid choice."),
        ("preferred_contact_method", "carrier pigeon", "Select a valid choice."),
        ("preferred_contact_method", "", "This field is required."),
        ("phone", "call me", "Enter a phone number such as (617) 555-0123."),
        ("phone", "12", "Enter a phone number such as (617) 555-0123."),
    ],
)
def test_bad_contact_input_is_shown_beside_the_field_and_nothing_is_saved(
    owner_client, spa, practice, field, value, message
):
    response = owner_client.post(url("contact_create", spa, practice.public_id), _contact_post(**{field: value}))

    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    assert count(OfficeContact, practice=practice) == 0


def test_people_phones_are_stored_in_e164_and_shown_nationally(owner_client, spa, practice):
    owner_client.post(url("clinician_create", spa, practice.public_id), _clinician_post(phone="617 555 0150"))
    owner_client.post(url("contact_create", spa, practice.public_id), _contact_post(phone="(617) 555-0151 x 22"))

    assert [clinician.phone for clinician in rows(Clinician, practice=practice)] == ["+16175550150"]
    assert [contact.phone for contact in rows(OfficeContact, practice=practice)] == ["+16175550151;ext=22"]
    page = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    assert '<a href="tel:+1-617-555-0151;ext=22">(617) 555-0151 ext. 22</a>' in page


def test_editing_and_removing_an_office_contact(owner_client, spa, practice):
    contact = make_contact(practice, name="Dana Desk")

    edit = owner_client.post(
        url("contact_edit", spa, practice.public_id, contact.public_id), _contact_post(name="Dana Frontdesk")
    )
    assert edit.status_code == 302
    assert reload(contact).name == "Dana Frontdesk"

    delete = owner_client.post(url("contact_delete", spa, practice.public_id, contact.public_id))
    assert delete.status_code == 302
    assert count(OfficeContact, pk=contact.pk) == 0
    assert count(AuditEvent, spa=spa, action="contact.deleted") == 1


def test_another_practices_contact_is_404_under_this_practice(owner_client, spa, other_spa, practice):
    same_spa = make_contact(make_practice(spa, name="Harbor OB-GYN"), name="Same Spa Contact")
    other_spa_contact = make_contact(make_practice(other_spa, name="Theirs"), name="Their Contact")

    for contact in [same_spa, other_spa_contact]:
        assert owner_client.get(url("contact_edit", spa, practice.public_id, contact.public_id)).status_code == 404
        assert owner_client.post(url("contact_delete", spa, practice.public_id, contact.public_id)).status_code == 404
        assert count(OfficeContact, pk=contact.pk) == 1


def test_each_edit_page_offers_to_remove_that_person(owner_client, spa, practice):
    clinician = make_clinician(practice)
    contact = make_contact(practice)

    clinician_page = page_text(owner_client.get(url("clinician_edit", spa, practice.public_id, clinician.public_id)))
    contact_page = page_text(owner_client.get(url("contact_edit", spa, practice.public_id, contact.public_id)))

    assert f'action="{url("clinician_delete", spa, practice.public_id, clinician.public_id)}"' in clinician_page
    assert f'action="{url("contact_delete", spa, practice.public_id, contact.public_id)}"' in contact_page


def test_a_clinician_left_without_a_specialty_takes_the_practices(owner_client, spa, practice):
    clinician = make_clinician(practice, specialty="oncology")
    form = page_text(owner_client.get(url("clinician_edit", spa, practice.public_id, clinician.public_id)))

    owner_client.post(
        url("clinician_edit", spa, practice.public_id, clinician.public_id), _clinician_post(specialty="")
    )

    assert '<option value="">Same as the practice</option>' in form
    assert reload(clinician).specialty == "dermatology"
