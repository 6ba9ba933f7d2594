"""The offline source: `manage.py nppes_load` COPYs the NPPES file into NppesProvider; searches read it."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from infra.geo import distance_km, zip_centroid
from partners.models import NppesProvider
from partners.prospecting import nppes_file as loader
from partners.prospecting import taxonomy
from partners.prospecting.candidates import ProspectQuery
from partners.prospecting.nppes_file import NppesFileError, nppes_load
from partners.prospecting.sources import LocalFileSource, zips_within

from .nppes_samples import (
    CHIRO_NPI,
    DEACTIVATED_NPI,
    GLOW_NPI,
    HARBOR_NPI,
    HEADER,
    PATEL_NPI,
    WORCESTER_NPI,
    make_npi,
    nppes_csv,
    provider_row,
    sample_rows,
)


@pytest.fixture
def nppes_file(tmp_path):
    path = tmp_path / "npidata_pfile_20261101-20261130.csv"
    path.write_text(nppes_csv(), encoding="utf-8")
    return path


def test_zip_centroids_and_distances_are_real():
    boston, worcester = zip_centroid("02116"), zip_centroid("01608-1234")
    assert boston is not None and worcester is not None
    assert 55 < distance_km(*boston, *worcester) < 70  # Boston to Worcester, about 62 km
    assert zip_centroid("00000") is None
    assert zip_centroid("02116", "GB") is None
    assert distance_km(None, 1, 2, 3) is None


def test_the_command_copies_active_providers_with_their_primary_taxonomy(db, nppes_file):
    out = io.StringIO()
    call_command("nppes_load", str(nppes_file), "--progress-every", "2", stdout=out)
    assert set(NppesProvider.objects.values_list("npi", flat=True)) == {
        GLOW_NPI, PATEL_NPI, HARBOR_NPI, WORCESTER_NPI, CHIRO_NPI
    }  # fmt: skip
    assert DEACTIVATED_NPI not in out.getvalue()
    glow = NppesProvider.objects.get(npi=GLOW_NPI)
    assert (glow.organization_name, glow.city, glow.postal_code, glow.taxonomy_code) == (
        "GLOW DERMATOLOGY LLC", "BOSTON", "02116", "207N00000X"
    )  # fmt: skip
    # Patel lists general practice first but marks dermatology primary.
    assert NppesProvider.objects.get(npi=PATEL_NPI).taxonomy_code == "207N00000X"
    assert "2 providers read" in out.getvalue() and "4 providers read" in out.getvalue()
    assert "Loaded 5 providers" in out.getvalue()


def test_it_loads_with_copy_on_postgresql(db, nppes_file, django_assert_max_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    # Savepoint, TRUNCATE, COPY, release: never one INSERT per row.
    with django_assert_max_num_queries(6), open(nppes_file, encoding="utf-8", newline="") as stream:
        assert nppes_load(stream) == 5


def test_a_reload_replaces_the_table(db, tmp_path, nppes_file):
    call_command("nppes_load", str(nppes_file), stdout=io.StringIO())
    newer = tmp_path / "newer.csv"
    only = provider_row(make_npi("111111111"), org="NEW SKIN CLINIC", city="BOSTON", zip_code="02116",
                        taxonomies=["207N00000X"])  # fmt: skip
    newer.write_text(nppes_csv([only]), encoding="utf-8")
    call_command("nppes_load", str(newer), stdout=io.StringIO())
    assert list(NppesProvider.objects.values_list("organization_name", flat=True)) == ["NEW SKIN CLINIC"]


def test_a_file_that_is_not_nppes_changes_nothing(db, tmp_path, nppes_file):
    call_command("nppes_load", str(nppes_file), stdout=io.StringIO())
    wrong = tmp_path / "practices.csv"
    wrong.write_text("Practice name,City\nGlow,Boston\n", encoding="utf-8")
    with pytest.raises(CommandError, match="not an NPPES data file.*“NPI”.*Nothing was loaded"):
        call_command("nppes_load", str(wrong), stdout=io.StringIO())
    assert NppesProvider.objects.count() == 5


def test_a_malformed_row_half_way_rolls_the_whole_load_back(db, tmp_path, nppes_file):
    call_command("nppes_load", str(nppes_file), stdout=io.StringIO())
    rows = sample_rows()[:2] + [["1234"] + [""] * 5]
    broken = tmp_path / "broken.csv"
    broken.write_text(nppes_csv(rows), encoding="utf-8")
    with pytest.raises(CommandError, match="Line 4 has 6 columns"):
        call_command("nppes_load", str(broken), stdout=io.StringIO())
    bad_npi = tmp_path / "bad_npi.csv"
    bad_npi.write_text(nppes_csv([provider_row("1234567890", org="X", taxonomies=["207N00000X"])]), encoding="utf-8")
    with pytest.raises(CommandError, match="Line 2 is not a valid provider"):
        call_command("nppes_load", str(bad_npi), stdout=io.StringIO())
    assert NppesProvider.objects.count() == 5


def test_an_empty_or_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(NppesFileError, match="empty"):
        nppes_load(io.StringIO(""))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("nppes_load", str(tmp_path / "nowhere.csv"), stdout=io.StringIO())


def test_a_radius_search_keeps_the_specialty_inside_the_circle_nearest_first(db, nppes_file):
    call_command("nppes_load", str(nppes_file), stdout=io.StringIO())
    found = LocalFileSource().search(ProspectQuery(specialty="dermatology", postal_code="02116", radius_km=15))
    assert {candidate.npi for candidate in found} == {GLOW_NPI, PATEL_NPI}  # Worcester is 60 km away
    patel = next(candidate for candidate in found if candidate.npi == PATEL_NPI)
    assert patel.display_name == "Anjali Patel, MD" and patel.is_clinician and 0 < patel.distance_km < 15
    wide = LocalFileSource().search(ProspectQuery(specialty="dermatology", postal_code="02116", radius_km=80))
    assert WORCESTER_NPI in {candidate.npi for candidate in wide}
    assert "01608" in zips_within("02116", 80) and "01608" not in zips_within("02116", 15)


def test_a_city_search_and_another_specialty(db, nppes_file):
    call_command("nppes_load", str(nppes_file), stdout=io.StringIO())
    found = LocalFileSource().search(ProspectQuery(specialty="chiropractic", city="boston", state="ma"))
    assert [(candidate.npi, candidate.display_name) for candidate in found] == [(CHIRO_NPI, "Back Bay Chiropractic")]
    ob_gyn = LocalFileSource().search(ProspectQuery(specialty="ob_gyn", postal_code="02139", radius_km=5))
    assert [candidate.npi for candidate in ob_gyn] == [HARBOR_NPI]


def test_every_searchable_specialty_has_real_taxonomy_codes_and_other_has_none():
    for specialty, _label in taxonomy.searchable_specialties():
        codes = taxonomy.taxonomy_codes(specialty)
        assert codes and all(len(code) == 10 and code.endswith("X") for code in codes)
        assert all(taxonomy.specialty_for_code(code) == specialty for code in codes)
    assert taxonomy.taxonomy_codes("dermatology")[0] == "207N00000X"
    assert taxonomy.taxonomy_codes("physical_therapy")[0] == "225100000X"
    with pytest.raises(taxonomy.UnknownTaxonomy, match="no taxonomy"):
        taxonomy.taxonomy_codes("other")
    with pytest.raises(taxonomy.UnknownTaxonomy):
        taxonomy.search_description("tarot")


def test_the_header_names_are_the_published_ones():
    # The loader reads the columns by these names; a renamed column in a future file must fail loudly.
    assert "Provider Business Practice Location Address Postal Code" in HEADER
    assert "Healthcare Provider Primary Taxonomy Switch_15" in HEADER


def test_without_postgresql_the_same_rows_go_in_by_batches(db, nppes_file, monkeypatch):
    # make run's SQLite has no COPY; the batched path must load the same rows (and replace, like COPY).
    monkeypatch.setattr(loader, "BULK_BATCH", 2)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with open(nppes_file, encoding="utf-8", newline="") as stream:
        assert nppes_load(stream) == 5
    with open(nppes_file, encoding="utf-8", newline="") as stream:
        assert nppes_load(stream) == 5
    assert NppesProvider.objects.count() == 5
    assert NppesProvider.objects.get(npi=PATEL_NPI).taxonomy_code == "207N00000X"
