"""CSV export of practices and clinicians: the spa's own rows, safe to open in a spreadsheet, re-importable."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from infra.phones import normalize_phone
from partners.models import Clinician, Practice, PracticeImport, Stage
from partners.services import clinician_save, practice_create
from spas.models import Role
from tests.factories import ClinicianFactory, MembershipFactory, PracticeFactory

DANGEROUS_NAMES = [
    '=HYPERLINK("http://evil.example","Click me")',
    "+1-555",
    "@SUM(A1)",
    "-2+3",
    "\tTabbed Clinic",
    "\rReturn Clinic",
]


def export(client, spa, what):
    response = client.get(reverse(f"partners:export_{what}", args=[spa.slug]))
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content)
    return response, body


def rows_of(body):
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def upload_and_review(client, spa, body, name):
    response = client.post(
        reverse("partners:import_upload", args=[spa.slug]),
        {"file": SimpleUploadedFile(name, body, content_type="text/csv")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        practice_import = PracticeImport.objects.get(spa=spa)
    review = client.get(reverse("partners:import_review", args=[spa.slug, practice_import.public_id]))
    return practice_import, review


def test_practices_csv_lists_the_spas_practices_with_their_details(owner_client, spa, owner):
    with scope(spa=spa):
        glow = practice_create(
            spa=spa,
            actor=owner,
            fields={
                "name": "Glow Dermatology",
                "specialty": "dermatology",
                "city": "Boston",
                "phone": "(617) 555-0142",
                "website": "https://glow.example",
                "size": "small",
                "source": "networking_event",
                "owner": owner,
            },
            tag_names=["lunch done", "vip"],
        )
        PracticeFactory(spa=spa, name="Quiet Spine", specialty="chiropractic", stage=Stage.ACTIVE)
        glow_code = glow.referral_code

    response, body = export(owner_client, spa, "practices")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="serene-test-practices.csv"'
    rows = rows_of(body)
    assert [row["Practice name"] for row in rows] == ["Glow Dermatology", "Quiet Spine"]
    assert {key: rows[0][key] for key in ("Specialty", "City", "Phone", "Website", "Size", "How identified")} == {
        "Specialty": "Dermatology",
        "City": "Boston",
        "Phone": "(617) 555-0142",
        "Website": "https://glow.example",
        "Size": "Small (2–5)",
        "How identified": "Networking event",
    }
    assert (rows[0]["Stage"], rows[0]["Tags"], rows[0]["Owner"]) == ("Prospect", "lunch done, vip", owner.email)
    assert rows[0]["Referral code"] == glow_code != ""
    assert rows[1]["Stage"] == "Active partner"


def test_clinicians_csv_lists_each_clinician_with_their_practice_and_code(owner_client, spa, owner):
    with scope(spa=spa):
        glow = PracticeFactory(spa=spa, name="Glow Dermatology", city="Boston")
        patel = clinician_save(
            practice=glow,
            actor=owner,
            fields={"first_name": "Asha", "last_name": "Patel", "credentials": "MD", "email": "asha@glow.example"},
        )
        code = patel.referral_codes.get().code

    _response, body = export(owner_client, spa, "clinicians")

    assert rows_of(body) == [
        {
            "Practice name": "Glow Dermatology",
            "City": "Boston",
            "Clinician first name": "Asha",
            "Clinician last name": "Patel",
            "Clinician credentials": "MD",
            "Specialty": "Dermatology",
            "Clinician email": "asha@glow.example",
            "Clinician phone": "",
            "Clinician NPI": "",
            "Referral code": code,
        }
    ]


@pytest.mark.parametrize("what", ["practices", "clinicians"])
def test_exports_hold_only_this_spas_rows(owner_client, spa, other_spa, what):
    ClinicianFactory(practice=PracticeFactory(spa=spa, name="Ours Dermatology"), last_name="Ourdoc")
    ClinicianFactory(practice=PracticeFactory(spa=other_spa, name="Theirs Dermatology"), last_name="Theirdoc")

    _response, body = export(owner_client, spa, what)

    text = body.decode()
    assert "Ours Dermatology" in text
    assert "Theirs Dermatology" not in text
    assert "Theirdoc" not in text


@pytest.mark.parametrize("name", DANGEROUS_NAMES)
def test_a_practice_name_a_spreadsheet_would_run_is_exported_with_a_leading_quote(owner_client, spa, name):
    ClinicianFactory(practice=PracticeFactory(spa=spa, name=name), first_name=name, last_name="Doe")

    _response, practices_body = export(owner_client, spa, "practices")
    _response, clinicians_body = export(owner_client, spa, "clinicians")

    assert [row["Practice name"] for row in rows_of(practices_body)] == ["'" + name]
    [clinician] = rows_of(clinicians_body)
    assert (clinician["Practice name"], clinician["Clinician first name"]) == ("'" + name, "'" + name)


def test_every_exported_cell_is_neutralised_not_only_the_name(owner_client, spa):
    # A number abroad is exported internationally, so it starts with "+".
    PracticeFactory(spa=spa, name="Plain", phone="+442079460958", address="=1+1", introduced_by="@mention")

    _response, body = export(owner_client, spa, "practices")

    [row] = rows_of(body)
    assert (row["Phone"], row["Address"], row["Introduced by"]) == ("'+44 20 7946 0958", "'=1+1", "'@mention")


def test_exports_are_audited(owner_client, spa, owner):
    export(owner_client, spa, "practices")
    export(owner_client, spa, "clinicians")

    with scope(spa=spa):
        actions = sorted(AuditEvent.objects.filter(actor=owner).values_list("action", flat=True))
    assert actions == ["clinician.exported", "practice.exported"]


@pytest.mark.parametrize("what", ["practices", "clinicians"])
def test_staff_may_not_export(staff_client, spa, what):
    PracticeFactory(spa=spa)

    response = staff_client.get(reverse(f"partners:export_{what}", args=[spa.slug]))

    assert response.status_code == 403


@pytest.mark.parametrize("what", ["practices", "clinicians"])
def test_another_spas_owner_cannot_export_ours(outsider_client, spa, what):
    PracticeFactory(spa=spa)

    response = outsider_client.get(reverse(f"partners:export_{what}", args=[spa.slug]))

    assert response.status_code == 404


def test_an_export_query_count_does_not_grow_with_the_practices(owner_client, spa, django_assert_max_num_queries):
    for number in range(30):
        practice = PracticeFactory(spa=spa, name=f"Practice {number}")
        ClinicianFactory(practice=practice)

    with django_assert_max_num_queries(15):
        export(owner_client, spa, "practices")
    with django_assert_max_num_queries(15):
        export(owner_client, spa, "clinicians")


# --- Round trip ---------------------------------------------------------------------------------


@pytest.fixture
def practices_to_export(spa, owner):
    """Practices with every exported field filled in, including names a spreadsheet would run."""
    with scope(spa=spa):
        practices = [
            practice_create(
                spa=spa,
                actor=owner,
                fields={
                    "name": name.strip() or "Blank",
                    "specialty": specialty,
                    "address": "12 Elm St, Suite 4",
                    "city": "Boston",
                    "phone": f"(617) 555-{number:04d}",
                    "fax": f"617.555.{number + 100:04d}",
                    "website": f"https://practice{number}.example/about",
                    "npi": "1234567893" if number == 0 else "",
                    "size": "medium",
                    "source": "client_introduction",
                    "introduced_by": "Mrs. O'Neil",
                    "owner": owner if number % 2 else None,
                },
                tag_names=["round trip", f"batch {number}"],
            )
            for number, (name, specialty) in enumerate(
                zip(
                    [*DANGEROUS_NAMES, "Smith, Jones & Partners", 'The "Best" OB-GYN', "Café Dermatología"],
                    ["dermatology", "ob_gyn", "physical_therapy", "chiropractic", "plastic_surgery", "oncology"] * 2,
                    strict=False,
                )
            )
        ]
        from partners.services import practice_move_stage

        practice_move_stage(practice=practices[1], to_stage=Stage.ACTIVE, actor=owner)
        practice_move_stage(practice=practices[2], to_stage=Stage.DECLINED, reason="Too busy", actor=owner)
        for practice in practices[:3]:
            clinician_save(
                practice=practice,
                actor=owner,
                fields={"first_name": "Asha", "last_name": f"Patel-{practice.pk}", "credentials": "MD, PhD"},
            )
        # A clinician with no specialty of their own exports the practice's.
        clinician_save(practice=practices[3], actor=owner, fields={"first_name": "Ben", "last_name": "Okafor"})
        Clinician.objects.filter(last_name="Okafor").update(specialty="")
    return practices


def test_a_practices_export_imports_into_another_spa_with_every_row_valid(
    owner_client, spa, other_spa, owner, practices_to_export
):
    MembershipFactory(spa=other_spa, user=owner, role=Role.OWNER)
    _response, body = export(owner_client, spa, "practices")

    practice_import, review = upload_and_review(owner_client, other_spa, body, "serene-test-practices.csv")

    check = review.context["check"]
    assert check.errors == []
    assert check.warnings == []
    assert len(check.drafts) == len(practices_to_export)
    response = owner_client.post(
        reverse("partners:import_review", args=[other_spa.slug, practice_import.public_id]),
        {
            **{f"map_{name}": str(index) for name, index in practice_import.mapping.items()},
            "skip_duplicates": "on",
            "action": "commit",
        },
    )
    assert response.status_code == 302
    fields = ("name", "specialty", "address", "city", "phone", "fax", "website", "npi", "size", "source", "stage")

    def as_imported(practice, field):
        # Phones typed before validation come back in E.164, the way every phone is stored now.
        value = getattr(practice, field)
        return normalize_phone(value, "US") if field in ("phone", "fax") else value

    with scope(spa=spa):
        originals = sorted((*(as_imported(p, f) for f in fields), p.owner_id) for p in Practice.objects.all())
    with scope(spa=other_spa):
        imported = sorted((*(getattr(p, f) for f in fields), p.owner_id) for p in Practice.objects.all())
        tags = sorted(Practice.objects.get(name="+1-555").practice_tags.values_list("tag__name", flat=True))
    assert imported == originals
    assert tags == ["batch 1", "round trip"]


def test_a_clinicians_export_imports_into_another_spa_with_every_row_valid(
    owner_client, spa, other_spa, owner, practices_to_export
):
    MembershipFactory(spa=other_spa, user=owner, role=Role.OWNER)
    _response, body = export(owner_client, spa, "clinicians")

    _practice_import, review = upload_and_review(owner_client, other_spa, body, "serene-test-clinicians.csv")

    check = review.context["check"]
    assert check.errors == []
    assert len(check.drafts) == 4
    assert check.clinician_count == 4
    imported = sorted((draft.fields["name"], draft.fields["specialty"]) for draft in check.drafts)
    assert imported == sorted((p.name, p.specialty) for p in practices_to_export[:4])
