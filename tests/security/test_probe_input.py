"""The probe's input findings: one-line text fields took CR, LF and other control characters; download file
names were cut from user text at the last "/"; a spa's web address could be one letter or a reserved word.
Each channel refuses such input with a message beside the field (or a 400 naming it) and changes nothing."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import GeneratedDocument
from infra.text import download_filename, single_line
from partners.csv_import import TARGET_NAMES
from partners.models import Practice, PracticeImport
from referrals.intake.submissions import submission_token_new
from referrals.models import Referral
from spas.models import Spa

from ..factories import PracticeFactory, ReferralCodeFactory, ReferralFactory, UserFactory
from ..referrals.api_helpers import REFERRALS_URL, api_setup, post_json, referral_body
from ..referrals.portal_helpers import give_portal_access
from ..referrals.spa_helpers import field_error

MESSAGE = "Use one line of text, without line breaks, tabs or other control characters."
HOSTILE = ["Maya\r\nBcc: x@example.com", "Maya\nLopez", "Maya\tLopez", "Maya\x00", "Maya\x1b[31m", "Maya\u2028Lopez"]


@pytest.fixture
def practice(spa):
    return PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")


def _referral_names(spa):
    with scope(spa=spa):
        return sorted(referral.patient_first_name for referral in Referral.objects.all())


# --- the rule -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_the_rule_refuses_control_characters_and_line_separators(value):
    with pytest.raises(Exception, match="one line of text"):
        single_line(value)


@pytest.mark.parametrize("value", ["", "Maya", "Zoë O'Brien-Ngata", "Dr. 李 (MD)", "Café & Spa — Boston", "👩‍⚕️ Clinic"])
def test_the_rule_takes_ordinary_text_of_any_language(value):
    single_line(value)


# --- every channel ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE[:3])
def test_the_landing_page_refuses_a_name_with_a_line_break(spa, practice, value):
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="KM7QXZ")
    response = Client().post(
        reverse("public:landing", args=["KM7QXZ"]),
        {
            "patient_first_name": value,
            "patient_last_name": "Lopez",
            "patient_phone": "(617) 555-0123",
            "preferred_contact_method": "phone",
            "reason_category": "sensitive_skin",
            "consent_to_contact": "on",
            "submission_token": submission_token_new(),
        },
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 400
    assert field_error(response, "patient_first_name") == MESSAGE
    assert _referral_names(spa) == []


def test_the_portal_form_refuses_a_name_with_a_line_break(spa, practice):
    user = UserFactory(email="frontdesk@brookline.example")
    give_portal_access(practice, user)
    client = Client()
    client.force_login(user)

    response = client.post(
        reverse("portal:referral_new", args=[spa.slug]),
        {
            "patient_first_name": "Grace",
            "patient_last_name": "Hopper\r\nX-Injected: 1",
            "patient_phone": "(617) 555-0142",
            "reason_category": "post_procedure_skin_care",
            "patient_agreed": "on",
        },
    )

    assert response.status_code == 400
    assert field_error(response, "patient_last_name") == MESSAGE
    assert _referral_names(spa) == []


def test_manual_entry_refuses_a_best_time_with_a_line_break(owner_client, spa, practice):
    response = owner_client.post(
        reverse("referrals:create", args=[spa.slug]),
        {
            "channel": "phone",
            "practice": str(practice.public_id),
            "patient_first_name": "Maria",
            "patient_last_name": "Lopez",
            "patient_phone": "617-555-0142",
            "preferred_contact_method": "phone",
            "preferred_contact_time": "Mornings\nand evenings",
            "reason_category": "post_procedure_skin_care",
            "urgency": "soon",
            "consent_to_contact": "on",
            "consent_method": "verbal",
        },
    )

    assert response.status_code == 400
    assert field_error(response, "preferred_contact_time") == MESSAGE
    assert _referral_names(spa) == []


@pytest.mark.parametrize("field", ["name", "city", "address", "introduced_by"])
def test_the_practice_form_refuses_control_characters(owner_client, spa, field):
    data = {
        "name": "Back Bay Dermatology",
        "specialty": "dermatology",
        "city": "Boston",
        "size": "small",
        "source": "client_introduction",
        field: "Back Bay\r\nDermatology",
    }

    response = owner_client.post(reverse("partners:create", args=[spa.slug]), data)

    assert response.status_code in (200, 400)
    assert field_error(response, field) == MESSAGE
    with scope(spa=spa):
        assert not Practice.objects.exists()


def test_the_spa_form_refuses_a_name_with_a_line_break(client_for, db):
    client = client_for(UserFactory(email="newcomer@example.com"))
    response = client.post(
        reverse("spa_create"), {"name": "Serenity\nSpa", "slug": "serenity-spa", "timezone": "America/New_York"}
    )

    assert field_error(response, "name") == MESSAGE
    assert not Spa.objects.filter(slug="serenity-spa").exists()


def test_the_csv_import_lists_a_cell_with_a_line_break_as_a_problem_and_imports_nothing(owner_client, spa):
    content = (
        'Practice name,Specialty,City\r\n"Glow\nDermatology",Dermatology,Boston\r\nCalm PT,Physical therapy,Boston\r\n'
    )
    response = owner_client.post(
        reverse("partners:import_upload", args=[spa.slug]),
        {"file": SimpleUploadedFile("practices.csv", content.encode(), content_type="text/csv")},
        follow=True,
    )
    review_url = response.redirect_chain[-1][0]

    page = response.content.decode().replace("&#x27;", "'")
    assert "Line 2" in page
    assert MESSAGE in page
    assert 'value="commit"' not in page  # no Import button while a row has a problem
    with scopes_disabled():
        practice_import = PracticeImport.objects.get(spa=spa)
    mapping = {f"map_{name}": str(practice_import.mapping.get(name, "")) for name in TARGET_NAMES}
    owner_client.post(review_url, {**mapping, "action": "commit"})  # forced anyway
    with scope(spa=spa):
        assert not Practice.objects.exists()


@pytest.mark.parametrize(
    "field", ["patient_first_name", "patient_last_name", "preferred_contact_time", "patient_phone"]
)
def test_the_api_answers_400_naming_the_field(spa, field):
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(**{field: "Dana\r\nWhitfield"}))

    assert response.status_code == 400
    # A phone with a line break in it is first of all not a phone number: that message names it.
    expected = "Enter a phone number such as (617) 555-0123." if field == "patient_phone" else MESSAGE
    assert response.json()["errors"][field] == [expected]
    assert _referral_names(spa) == []


# --- download file names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ('script>"><img src=x onerr', "scriptimg-srcx-onerr.pdf"),
        ("Referral pad — Glow Dermatology / Dr. Smith", "referral-pad-glow-dermatology-dr-smith.pdf"),
        ("../../etc/passwd", "etcpasswd.pdf"),
        ("Zoë's Spa\r\nSet-Cookie: x", "zoes-spa-set-cookie-x.pdf"),
        ("", "document.pdf"),
        ("///", "document.pdf"),
    ],
)
def test_download_names_are_slugs_of_the_title(title, expected):
    assert download_filename(title, "pdf") == expected


def test_a_documents_download_name_is_a_slug_of_its_title(owner_client, spa):
    with scopes_disabled():
        document = GeneratedDocument.objects.create(
            spa=spa,
            kind="referral_pad",
            title='Pad — script>"><img src=x onerr',
            source_type="practice",
            source_id="1",
            source_version="1",
            options_key="x",
            status=GeneratedDocument.Status.READY,
        )
        document.file.save("pad.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))

    response = owner_client.get(reverse("documents:download", args=[spa.slug, document.public_id]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="pad-scriptimg-srcx-onerr.pdf"'


def test_an_attachments_download_name_is_a_slug_of_the_uploaded_name(owner_client, spa, practice):
    with scope(spa=spa):
        referral = ReferralFactory(spa=spa, practice=practice, attachment_name='a/b"><svg onload=x>.pdf')
        referral.attachment.save("private/x.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))

    response = owner_client.get(reverse("referrals:attachment", args=[spa.slug, referral.public_id]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="absvg-onloadx.pdf"'


# --- a spa's web address ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("ab", "Use at least 3 characters"),
        ("a", "Use at least 3 characters"),
        ("admin", "This web address is reserved"),
        ("api", "This web address is reserved"),
        ("static", "This web address is reserved"),
        ("media", "This web address is reserved"),
        ("portal", "This web address is reserved"),
        ("accounts", "This web address is reserved"),
        ("www", "This web address is reserved"),
    ],
)
def test_a_spa_web_address_must_be_three_characters_and_not_reserved(client_for, db, slug, message):
    client = client_for(UserFactory(email="newcomer@example.com"))

    response = client.post(reverse("spa_create"), {"name": "Serenity", "slug": slug, "timezone": "America/New_York"})

    assert message in (field_error(response, "slug") or "")
    assert not Spa.objects.filter(slug=slug).exists()


def test_the_reserved_words_hold_in_the_service_too(db):
    from django.core.exceptions import ValidationError

    from spas.services import spa_create

    with pytest.raises(ValidationError) as error:
        spa_create(owner=UserFactory(), name="Admin", slug="admin", timezone_name="UTC")
    assert "slug" in error.value.message_dict
    assert not Spa.objects.filter(slug="admin").exists()


def test_a_two_line_address_from_a_spreadsheet_is_imported_as_one_line(owner_client, spa):
    content = 'Practice name,Specialty,Address\r\nGlow Dermatology,Dermatology,"12 Elm St\nSuite 4"\r\n'
    response = owner_client.post(
        reverse("partners:import_upload", args=[spa.slug]),
        {"file": SimpleUploadedFile("practices.csv", content.encode(), content_type="text/csv")},
        follow=True,
    )
    with scopes_disabled():
        practice_import = PracticeImport.objects.get(spa=spa)
    mapping = {f"map_{name}": str(practice_import.mapping.get(name, "")) for name in TARGET_NAMES}

    owner_client.post(response.redirect_chain[-1][0], {**mapping, "action": "commit"})

    with scope(spa=spa):
        assert list(Practice.objects.values_list("address", flat=True)) == ["12 Elm St, Suite 4"]
