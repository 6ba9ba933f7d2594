"""CSV import of practices and clinicians: upload, map columns, preview every error, commit all or nothing."""

import codecs
import csv
import io
import re
import time
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from partners import csv_import
from partners.models import Clinician, Practice, PracticeImport, PracticeTag, ReferralCode, Stage, StageChange
from spas.models import Membership
from tests.factories import PracticeFactory

HEADER = [
    "Practice name",
    "Specialty",
    "Address",
    "City",
    "Phone",
    "Practice NPI",
    "Stage",
    "Tags",
    "Owner",
    "Clinician first name",
    "Clinician last name",
    "Credentials",
    "Clinician email",
    "Clinician NPI",
]
SPECIALTIES = ["Dermatology", "OB-GYN", "physical_therapy", "Chiropractic", "Plastic surgery", "Primary care"]
CITIES = ["Boston", "Brookline", "Cambridge", "Newton", "Somerville"]
BIG_IMPORT_PRACTICES = 5000
IMPORT_TIME_LIMIT_SECONDS = 60


def valid_npi(base):
    """A 10-digit NPI with the right check digit for a 9-digit ``base``."""
    digits = f"{base:09d}"
    total = 0
    for position, digit in enumerate(reversed([int(d) for d in "80840" + digits])):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return digits + str((10 - total % 10) % 10)


def broken_npi(base):
    npi = valid_npi(base)
    return npi[:9] + str((int(npi[9]) + 1) % 10)


def to_csv(header, rows, delimiter=","):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def practice_row(number, *, owner_email="", name=None, specialty=None, city=None, npi=None, first="Ana", last=None):
    return [
        name or f"Harbor Skin Practice {number:05d}",
        specialty or SPECIALTIES[number % len(SPECIALTIES)],
        f"{number} Main Street",
        city or CITIES[number % len(CITIES)],
        f"(617) 555-{number % 10000:04d}",
        valid_npi(100_000_000 + number) if npi is None else npi,
        "Researched" if number % 7 == 0 else "",
        "import, boston" if number % 5 == 0 else "",
        owner_email if number % 3 == 0 else "",
        first,
        last or f"Lee{number}",
        "MD",
        f"ana.lee{number}@clinic.example",
        valid_npi(300_000_000 + number),
    ]


def big_file(*, owner_email, bad=None):
    """5,000 practices; every 20th has a second row adding another clinician.

    ``bad`` maps a practice number to the column changes that make its row invalid.
    Returns (csv text, {practice number: line number}).
    """
    rows, lines = [], {}
    for number in range(BIG_IMPORT_PRACTICES):
        row = practice_row(number, owner_email=owner_email)
        for column, value in (bad or {}).get(number, {}).items():
            row[HEADER.index(column)] = value
        rows.append(row)
        lines[number] = len(rows) + 1  # the header is line 1
        if number % 20 == 0:
            second = practice_row(number, owner_email=owner_email, first="Ben", last=f"Okafor{number}")
            second[HEADER.index("Clinician email")] = f"ben.okafor{number}@clinic.example"
            second[HEADER.index("Clinician NPI")] = valid_npi(500_000_000 + number)
            rows.append(second)
    return to_csv(HEADER, rows), lines


def upload(client, spa, content, name="practices.csv"):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return client.post(
        reverse("partners:import_upload", args=[spa.slug]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def uploaded_import(client, spa, content, **kwargs):
    response = upload(client, spa, content, **kwargs)
    assert response.status_code == 302, response.content.decode()[:2000]
    public_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    with scopes_disabled():
        return PracticeImport.objects.get(public_id=public_id)


def review_url(practice_import):
    return reverse("partners:import_review", args=[practice_import.spa.slug, practice_import.public_id])


def mapping_post(practice_import, action="check", skip_duplicates=True, **overrides):
    """The mapping form as the review page submits it, with the stored mapping and ``overrides``."""
    data = {f"map_{name}": str(practice_import.mapping.get(name, "")) for name in csv_import.TARGET_NAMES}
    data.update({f"map_{name}": value for name, value in overrides.items()})
    data["action"] = action
    if skip_duplicates:
        data["skip_duplicates"] = "on"
    return data


def commit(client, practice_import, follow=False, **kwargs):
    data = mapping_post(practice_import, action="commit", **kwargs)
    return client.post(review_url(practice_import), data, follow=follow)


def shown_problems(response):
    """(line, message) of each problem listed on the review page."""
    html = response.content.decode()
    section = re.search(r'<ul class="list-unstyled mb-0 import-errors">(.*?)</ul>', html, re.S)
    if section is None:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", section.group(1), re.S)
    problems = []
    for item in items:
        line = re.search(r"Line (\d+)", item)
        message = re.sub(r"<[^>]+>", "", re.sub(r'<span class="badge[^"]*"[^>]*>.*?</span>', "", item))
        problems.append((int(line.group(1)) if line else 0, " ".join(message.split())))
    return problems


def counts(spa):
    with scope(spa=spa):
        return {
            "practices": Practice.objects.filter(spa=spa).count(),
            "clinicians": Clinician.objects.filter(spa=spa).count(),
            "codes": ReferralCode.objects.filter(spa=spa).count(),
            "stage_changes": StageChange.objects.filter(spa=spa).count(),
        }


NOTHING = {"practices": 0, "clinicians": 0, "codes": 0, "stage_changes": 0}


# --- The 5,000-row file --------------------------------------------------------------------------


def test_a_5000_practice_file_with_3_bad_rows_lists_exactly_those_3_and_imports_only_once_fixed(
    owner_client, spa, owner
):
    bad_rows = {
        101: {"Practice NPI": broken_npi(100_000_101)},
        2503: {"Specialty": "Astrology"},
        4999: {"Owner": "stranger@nowhere.example"},
    }
    bad_text, lines = big_file(owner_email=owner.email, bad=bad_rows)
    assert len(bad_text.splitlines()) - 1 == 5250  # rows: 5,000 practices + 250 second clinicians

    bad_import = uploaded_import(owner_client, spa, bad_text)
    review = owner_client.get(review_url(bad_import))

    assert review.status_code == 200
    problems = shown_problems(review)
    assert [line for line, _message in problems] == [lines[101], lines[2503], lines[4999]]
    assert "NPI" in problems[0][1]
    assert "Astrology" in problems[1][1]
    assert "stranger@nowhere.example is not a member" in problems[2][1]
    assert "3 problems to fix" in review.content.decode()

    response = commit(owner_client, bad_import)

    assert response.status_code == 302
    assert counts(spa) == NOTHING
    bad_import.refresh_from_db()
    assert bad_import.status == PracticeImport.Status.UPLOADED

    fixed_text, _lines = big_file(owner_email=owner.email)
    started = time.monotonic()
    fixed_import = uploaded_import(owner_client, spa, fixed_text)
    review = owner_client.get(review_url(fixed_import))
    assert shown_problems(review) == []
    assert "Every row is valid." in review.content.decode()
    response = commit(owner_client, fixed_import)
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert response["Location"] == reverse("partners:list", args=[spa.slug])
    assert elapsed < IMPORT_TIME_LIMIT_SECONDS, f"the import took {elapsed:.1f} s"
    print(f"\n5,000-practice import (upload + review + commit): {elapsed:.1f} s")
    assert counts(spa) == {"practices": 5000, "clinicians": 5250, "codes": 10250, "stage_changes": 5000}
    with scope(spa=spa):
        codes = list(ReferralCode.objects.values_list("code", flat=True))
        assert len(set(codes)) == len(codes)
        assert not Practice.objects.exclude(referral_codes__clinician=None).exists()
        assert not Clinician.objects.filter(referral_codes=None).exists()
        two_clinicians = Practice.objects.get(name="Harbor Skin Practice 00060")
        assert sorted(two_clinicians.clinicians.values_list("last_name", flat=True)) == ["Lee60", "Okafor60"]
        assert two_clinicians.npi == valid_npi(100_000_060)
        assert two_clinicians.owner == owner
        assert Practice.objects.get(name="Harbor Skin Practice 00061").owner is None
        assert Practice.objects.get(name="Harbor Skin Practice 00007").stage == Stage.RESEARCHED
        assert set(
            Practice.objects.get(name="Harbor Skin Practice 00005").practice_tags.values_list("tag__name", flat=True)
        ) == {"import", "boston"}
        assert (
            StageChange.objects.filter(from_stage="", changed_by=owner, reason__contains="practices.csv").count()
            == 5000
        )
    fixed_import.refresh_from_db()
    assert (fixed_import.status, fixed_import.practices_created, fixed_import.clinicians_created) == (
        PracticeImport.Status.COMMITTED,
        5000,
        5250,
    )


# --- Mapping and preview ------------------------------------------------------------------------


OTHER_NAMES = ["Clinic title", "Field of medicine", "Town", "Doctor surname", "Doctor given name"]


def test_headers_in_other_names_are_mapped_by_hand_and_then_import(owner_client, spa):
    text = to_csv(OTHER_NAMES, [["Glow Dermatology", "Dermatology", "Boston", "Patel", "Asha"]])
    practice_import = uploaded_import(owner_client, spa, text)
    assert practice_import.mapping == {"city": 2}

    review = owner_client.get(review_url(practice_import))
    assert [message for _line, message in shown_problems(review)] == [
        "Choose the column that holds “Practice name”.",
        "Choose the column that holds “Specialty”.",
    ]

    response = owner_client.post(
        review_url(practice_import),
        mapping_post(practice_import, name="0", specialty="1", clinician_last_name="3", clinician_first_name="4"),
    )
    assert response.status_code == 302
    practice_import.refresh_from_db()
    assert practice_import.mapping == {
        "name": 0,
        "specialty": 1,
        "city": 2,
        "clinician_first_name": 4,
        "clinician_last_name": 3,
    }
    review = owner_client.get(review_url(practice_import))
    assert shown_problems(review) == []
    assert commit(owner_client, practice_import).status_code == 302
    with scope(spa=spa):
        practice = Practice.objects.get()
        assert (practice.name, practice.specialty, practice.city) == ("Glow Dermatology", "dermatology", "Boston")
        assert practice.clinicians.get().display_name == "Asha Patel"


def test_leaving_a_required_field_unmapped_shows_the_error_beside_its_select(owner_client, spa):
    practice_import = uploaded_import(owner_client, spa, to_csv(["Name", "Specialty"], [["Glow", "Dermatology"]]))

    response = owner_client.post(review_url(practice_import), mapping_post(practice_import, name=""))

    assert response.status_code == 400
    assert response.context["form"].errors["map_name"] == ["Choose the column that holds “Practice name”."]
    assert 'id="id_map_name_error"' in response.content.decode()
    practice_import.refresh_from_db()
    assert practice_import.mapping == {"name": 0, "specialty": 1}


@pytest.mark.parametrize("column", ["2", "99", "-1", "1.5", "abc", "0; DROP TABLE", "١"])
def test_a_mapping_posted_with_a_column_that_is_not_in_the_file_is_refused(owner_client, spa, column):
    practice_import = uploaded_import(owner_client, spa, to_csv(["Name", "Specialty"], [["Glow", "Dermatology"]]))

    response = owner_client.post(review_url(practice_import), mapping_post(practice_import, city=column))

    assert response.status_code == 400
    assert response.context["form"].errors["map_city"] == ["Choose one of the file's columns."]
    practice_import.refresh_from_db()
    assert practice_import.mapping == {"name": 0, "specialty": 1}


def test_a_commit_posted_with_a_garbage_mapping_imports_nothing(owner_client, spa):
    practice_import = uploaded_import(owner_client, spa, to_csv(["Name", "Specialty"], [["Glow", "Dermatology"]]))

    response = owner_client.post(review_url(practice_import), mapping_post(practice_import, "commit", name="7"))

    assert response.status_code == 400
    assert counts(spa) == NOTHING


def test_the_preview_shows_the_header_and_the_first_20_rows(owner_client, spa):
    rows = [practice_row(number) for number in range(30)]
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, rows))

    review = owner_client.get(review_url(practice_import))

    html = review.content.decode()
    assert '<th scope="col">Clinician first name</th>' in html
    assert "Harbor Skin Practice 00019" in html
    assert "Harbor Skin Practice 00020" not in html
    assert "30 rows → 30 practices and 30 clinicians to import." in html


def test_rows_naming_the_same_practice_and_city_become_one_practice_with_several_clinicians(owner_client, spa):
    rows = [
        practice_row(1, first="Asha", last="Patel"),
        practice_row(1, first="Ben", last="Okafor"),
        practice_row(1, first="Cy", last="Moss", city="Worcester"),  # another practice of that name
    ]
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, rows))

    commit(owner_client, practice_import)

    with scope(spa=spa):
        by_city = {p.city: sorted(p.clinicians.values_list("last_name", flat=True)) for p in Practice.objects.all()}
    assert by_city == {CITIES[1]: ["Okafor", "Patel"], "Worcester": ["Moss"]}


def test_line_numbers_count_blank_rows_like_a_spreadsheet_does(owner_client, spa):
    text = (
        "Practice name,Specialty,Address\n"
        'Glow Dermatology,Dermatology,"12 Elm St\nSuite 4"\n'
        ",,\n"
        "\n"
        "Bad Practice,Astrology,\n"
    )
    practice_import = uploaded_import(owner_client, spa, text)

    problems = shown_problems(owner_client.get(review_url(practice_import)))

    assert problems == [(5, "Specialty: “Astrology” is not one of the choices.")]


def test_a_row_with_more_cells_than_the_header_is_an_error_and_one_with_fewer_is_fine(owner_client, spa):
    text = "Practice name,Specialty,City\nGlow, Dermatology,Dermatology,Boston\nQuiet Spine,Chiropractic\n"
    practice_import = uploaded_import(owner_client, spa, text)

    review = owner_client.get(review_url(practice_import))

    assert shown_problems(review) == [
        (
            2,
            "This row has 4 cells but the header has 3. Is there a comma in a value without quotes around it?",
        )
    ]
    assert [draft.fields["name"] for draft in review.context["check"].drafts] == ["Quiet Spine"]


def test_every_error_of_a_row_is_listed(owner_client, spa):
    row = practice_row(1, specialty="Astrology", npi="12345", owner_email="nobody@example.com")
    row[HEADER.index("Owner")] = "nobody@example.com"
    row[HEADER.index("Clinician email")] = "not-an-email"
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, [row]))

    messages = [message for _line, message in shown_problems(owner_client.get(review_url(practice_import)))]

    assert len(messages) == 4
    assert any("Astrology" in message for message in messages)
    assert any("nobody@example.com is not a member" in message for message in messages)
    assert any(message.startswith("Practice NPI:") for message in messages)
    assert any(message.startswith("Clinician email:") for message in messages)


def test_phones_that_are_not_numbers_are_row_errors_and_nothing_is_imported(owner_client, spa):
    rows = [practice_row(number) for number in range(5)]
    for row, typed in zip(rows[1:], ["call me", "12", "555-12", "617-CALL-NOW"], strict=True):
        row[HEADER.index("Phone")] = typed
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, rows))

    problems = shown_problems(owner_client.get(review_url(practice_import)))
    response = commit(owner_client, practice_import)

    assert problems == [
        (3, "Phone “call me”: Enter a phone number such as (617) 555-0123."),
        (4, "Phone “12”: Enter a phone number such as (617) 555-0123."),
        (5, "Phone “555-12”: Enter a phone number such as (617) 555-0123."),
        (6, "Phone “617-CALL-NOW”: Enter the phone number in digits, such as (617) 555-0123."),
    ]
    assert response.status_code == 302  # back to the review page, which lists the errors again
    assert counts(spa) == NOTHING


def test_imported_phones_are_stored_in_e164_read_in_the_spas_country(owner_client, spa):
    spa.country = "GB"
    spa.save()
    row = practice_row(1, city="London")
    row[HEADER.index("Phone")] = "020 7946 0958 ext. 12"
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, [row]))

    commit(owner_client, practice_import)

    with scope(spa=spa):
        assert list(Practice.objects.filter(spa=spa).values_list("phone", "phone_normalized")) == [
            ("+442079460958;ext=12", "+442079460958")
        ]


def test_a_declined_practice_is_imported_with_a_reason(owner_client, spa):
    row = practice_row(1)
    row[HEADER.index("Stage")] = "Declined"
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, [row]))

    commit(owner_client, practice_import)

    with scope(spa=spa):
        practice = Practice.objects.get()
    assert (practice.stage, practice.declined_reason) == (Stage.DECLINED, "Imported as declined")


# --- Duplicates ---------------------------------------------------------------------------------


def _duplicate_file():
    rows = [
        practice_row(1, name="Glow Skin Studio"),
        practice_row(2, name="Quiet Spine Chiropractic"),
    ]
    rows[0][HEADER.index("Phone")] = "617-555-0142"
    return to_csv(HEADER, rows)


def test_a_row_like_an_existing_practice_is_warned_about_and_skipped_by_default(owner_client, spa):
    PracticeFactory(spa=spa, name="Glow Dermatology", city="Boston", phone="(617) 555-0142")
    practice_import = uploaded_import(owner_client, spa, _duplicate_file())

    review = owner_client.get(review_url(practice_import))

    assert review.context["check"].warnings == [
        (2, "Glow Skin Studio looks like your existing Glow Dermatology (same phone number).")
    ]
    assert "Glow Skin Studio looks like your existing Glow Dermatology" in review.content.decode()
    assert "Import 1 practices" in review.content.decode()
    commit(owner_client, practice_import)
    with scope(spa=spa):
        assert sorted(Practice.objects.values_list("name", flat=True)) == [
            "Glow Dermatology",
            "Quiet Spine Chiropractic",
        ]


def test_unticking_skip_duplicates_imports_the_look_alikes_too(owner_client, spa):
    PracticeFactory(spa=spa, name="Glow Dermatology", city="Boston", phone="(617) 555-0142")
    practice_import = uploaded_import(owner_client, spa, _duplicate_file())

    owner_client.post(review_url(practice_import), mapping_post(practice_import, skip_duplicates=False))
    practice_import.refresh_from_db()
    assert practice_import.skip_duplicates is False
    review = owner_client.get(review_url(practice_import))
    assert "Import 2 practices" in review.content.decode()
    commit(owner_client, practice_import, skip_duplicates=False)

    with scope(spa=spa):
        assert Practice.objects.count() == 3


def test_another_spas_practices_are_not_duplicates(owner_client, spa, other_spa):
    PracticeFactory(spa=other_spa, name="Glow Dermatology", city="Boston", phone="(617) 555-0142")
    practice_import = uploaded_import(owner_client, spa, _duplicate_file())

    review = owner_client.get(review_url(practice_import))

    assert review.context["check"].warnings == []
    assert len(review.context["check"].drafts) == 2


# --- All or nothing -----------------------------------------------------------------------------


def test_a_failure_in_the_middle_of_the_commit_leaves_no_rows(owner_client, spa, owner, monkeypatch):
    rows = [practice_row(number, owner_email=owner.email) for number in range(50)]
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, rows))

    def refuse(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ReferralCode.objects, "bulk_create", refuse)
    with pytest.raises(RuntimeError), scope(spa=spa):
        csv_import.import_commit(practice_import=practice_import, actor=owner)

    assert counts(spa) == NOTHING
    with scope(spa=spa):
        assert not PracticeTag.objects.exists()
    practice_import.refresh_from_db()
    assert practice_import.status == PracticeImport.Status.UPLOADED


def test_the_commit_checks_every_row_again(owner_client, spa, manager_user):
    rows = [practice_row(number, owner_email=manager_user.email) for number in range(6)]
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, rows))
    assert shown_problems(owner_client.get(review_url(practice_import))) == []
    with scopes_disabled():
        Membership.objects.filter(user=manager_user).delete()

    response = commit(owner_client, practice_import)

    assert response.status_code == 302
    assert counts(spa) == NOTHING
    messages = [str(message) for message in owner_client.get(review_url(practice_import)).context["messages"]]
    assert messages == ["Fix the errors in the file before importing."]


def test_committing_twice_is_refused(owner_client, spa):
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, [practice_row(1), practice_row(2)]))
    assert commit(owner_client, practice_import, follow=True).status_code == 200
    assert counts(spa)["practices"] == 2

    response = commit(owner_client, practice_import)

    assert response.status_code == 302
    assert counts(spa)["practices"] == 2
    page = owner_client.get(review_url(practice_import))
    assert [str(message) for message in page.context["messages"]] == ["This file was already imported."]
    assert "Imported 2 practices and 2 clinicians" in page.content.decode()
    with pytest.raises(ValidationError, match="already imported"), scope(spa=spa):
        csv_import.import_commit(practice_import=practice_import, actor=None)
    assert counts(spa)["practices"] == 2


def test_the_commit_is_audited(owner_client, spa, owner):
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, [practice_row(1)]))

    commit(owner_client, practice_import)

    with scope(spa=spa):
        event = AuditEvent.objects.get(action="practice.imported")
    assert (event.actor, event.object_id, event.detail) == (
        owner,
        str(practice_import.public_id),
        {"practices": 1, "clinicians": 1},
    )


# --- Who may import -----------------------------------------------------------------------------


def test_a_manager_may_import(client_for, spa, manager_user):
    client = client_for(manager_user)

    practice_import = uploaded_import(client, spa, to_csv(HEADER, [practice_row(1)]))

    assert client.get(review_url(practice_import)).status_code == 200
    assert commit(client, practice_import).status_code == 302
    assert counts(spa)["practices"] == 1


def test_staff_may_not_import(owner_client, staff_client, spa):
    practice_import = uploaded_import(owner_client, spa, to_csv(HEADER, [practice_row(1)]))

    assert staff_client.get(reverse("partners:import_upload", args=[spa.slug])).status_code == 403
    assert upload(staff_client, spa, to_csv(HEADER, [practice_row(2)])).status_code == 403
    assert staff_client.get(review_url(practice_import)).status_code == 403
    assert commit(staff_client, practice_import).status_code == 403
    assert counts(spa) == NOTHING


def test_another_spas_import_is_not_found(owner_client, spa, other_spa, outsider, client_for):
    theirs = uploaded_import(client_for(outsider), other_spa, to_csv(HEADER, [practice_row(1)]))
    ours_url_for_theirs = reverse("partners:import_review", args=[spa.slug, theirs.public_id])

    assert owner_client.get(ours_url_for_theirs).status_code == 404
    assert owner_client.post(ours_url_for_theirs, mapping_post(theirs, "commit")).status_code == 404
    assert owner_client.get(review_url(theirs)).status_code == 404  # their spa's URL: not a member
    assert counts(other_spa) == NOTHING


def test_anonymous_visitors_are_sent_to_sign_in(client, spa):
    response = client.get(reverse("partners:import_upload", args=[spa.slug]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Files that are not what we asked for --------------------------------------------------------


def _xlsx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as workbook:
        workbook.writestr("[Content_Types].xml", "<Types/>")
        workbook.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    return buffer.getvalue()


def _oversized_csv():
    row = ",".join(practice_row(1)) + "\n"
    copies = csv_import.MAX_UPLOAD_BYTES // len(row) + 2
    return (",".join(HEADER) + "\n" + row * copies).encode()


MALFORMED_UPLOADS = {
    "empty file": (b"", "practices.csv", "The submitted file is empty."),
    "blank lines only": (b"\r\n \r\n,,,\r\n", "practices.csv", "The file is empty or has no header row."),
    "binary file": (bytes(range(256)) * 8, "practices.csv", "The file is not"),
    "xlsx renamed to csv": (_xlsx_bytes(), "practices.csv", "This is an Excel workbook"),
    "old xls renamed": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "practices.csv", "old Excel workbook"),
    "xlsx by name": (_xlsx_bytes(), "practices.xlsx", "Upload a .csv file"),
    "no header row": (
        b"Glow Dermatology,Dermatology,Boston,(617) 555-0142\nQuiet Spine,Chiropractic,Newton,\n",
        "practices.csv",
        "The first row should hold the column names",
    ),
    "only a header": (b"Practice name,Specialty,City\r\n", "practices.csv", "has a header row but no practices"),
    "wrong delimiter": (
        b"Practice name|Specialty|City\nGlow|Dermatology|Boston\n",
        "practices.csv",
        "We found only one column",
    ),
    "an unclosed quote swallowing the file": (
        b'Practice name,Specialty\n"Glow,Dermatology\n' + b"x" * 200_000 + b"\n",
        "practices.csv",
        "could not be read as CSV",
    ),
    "more than 10 MB": (None, "practices.csv", "larger than 10 MB"),
    "thousands of columns": (
        (",".join(["Practice name", "Specialty"] + [f"c{n}" for n in range(5000)]) + "\nGlow,Dermatology\n").encode(),
        "practices.csv",
        "we read at most 200",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_UPLOADS)
def test_a_malformed_upload_is_refused_with_a_message_beside_the_file_field(owner_client, spa, case):
    content, name, expected = MALFORMED_UPLOADS[case]
    if content is None:
        content = _oversized_csv()
        assert len(content) > csv_import.MAX_UPLOAD_BYTES

    response = upload(owner_client, spa, content, name=name)

    assert response.status_code == 400
    [error] = response.context["form"].errors["file"]
    assert expected in error
    html = response.content.decode()
    field_html = html[html.index('name="file"') :]
    assert field_html.index('id="id_file_error"') < field_html.index("</form>")
    with scopes_disabled():
        assert not PracticeImport.objects.exists()


def test_an_upload_without_a_file_is_refused(owner_client, spa):
    response = owner_client.post(reverse("partners:import_upload", args=[spa.slug]), {})

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["This field is required."]


def test_too_many_rows_are_refused(owner_client, spa, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_ROWS", 3)

    response = upload(owner_client, spa, to_csv(HEADER, [practice_row(n) for n in range(4)]))

    assert response.status_code == 400
    assert "more than 3 rows" in response.context["form"].errors["file"][0]


ACCENTED = "Café Dermatología"


@pytest.mark.parametrize(
    ("encoded", "delimiter"),
    [
        (lambda text: text.encode("utf-8"), ","),
        (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), ","),
        (lambda text: text.encode("cp1252"), ";"),
        (lambda text: text.encode("utf-16"), "\t"),
    ],
    ids=["utf-8", "utf-8 with BOM", "windows-1252 with semicolons", "utf-16 with tabs"],
)
def test_spreadsheet_encodings_and_delimiters_are_read(owner_client, spa, encoded, delimiter):
    text = to_csv(["Practice name", "Specialty", "City"], [[ACCENTED, "Dermatology", "Boston"]], delimiter=delimiter)

    practice_import = uploaded_import(owner_client, spa, encoded(text))

    assert practice_import.mapping == {"name": 0, "specialty": 1, "city": 2}
    commit(owner_client, practice_import)
    with scope(spa=spa):
        assert Practice.objects.get().name == ACCENTED


def test_commas_inside_values_do_not_fool_the_delimiter_guess(owner_client, spa):
    text = to_csv(
        ["Practice name", "Specialty", "Address"],
        [["Smith, Jones & Partners", "Dermatology", "1 Elm St, Suite 2"]],
        delimiter=";",
    )

    practice_import = uploaded_import(owner_client, spa, text)
    commit(owner_client, practice_import)

    with scope(spa=spa):
        practice = Practice.objects.get()
    assert (practice.name, practice.address) == ("Smith, Jones & Partners", "1 Elm St, Suite 2")


def test_the_upload_page_renders_for_a_manager(owner_client, spa):
    response = owner_client.get(reverse("partners:import_upload", args=[spa.slug]))

    assert response.status_code == 200
    assert 'type="file"' in response.content.decode()
