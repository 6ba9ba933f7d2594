"""Prospect search and import pages, the by-distance list and map: happy paths, bad input, outsiders."""

import html
import io
import re

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from partners.models import Clinician, Practice, ProspectImport, Stage
from tests.factories import ClinicianFactory, PracticeFactory

from .helpers import HTMX, messages_on, page_text, url
from .nppes_samples import GLOW_NPI, HARBOR_NPI, PATEL_NPI, nppes_csv

SEARCH = {"specialty": "dermatology", "postal_code": "02116", "radius_km": "15"}


@pytest.fixture
def local_registry(settings, tmp_path, db):
    settings.NPI_REGISTRY_SOURCE = "file"
    path = tmp_path / "npidata.csv"
    path.write_text(nppes_csv(), encoding="utf-8")
    call_command("nppes_load", str(path), stdout=io.StringIO())


@pytest.fixture
def boston_spa(spa):
    spa.postal_code = "02116"
    spa.save()
    return spa


def _npis_offered(response):
    return set(re.findall(r'name="npi" value="(\d{10})"', page_text(response)))


def test_the_spa_and_practices_get_coordinates_from_their_zip_code(boston_spa):
    assert boston_spa.latitude is not None
    with scope(spa=boston_spa):
        practice = PracticeFactory(spa=boston_spa, postal_code="02445")
        assert practice.latitude is not None
        practice.postal_code = "99999"  # not a ZIP code anyone has
        practice.save(update_fields=["postal_code"])
        practice.refresh_from_db()
        assert (practice.latitude, practice.longitude) == (None, None)


def test_the_search_page_opens_on_the_spas_zip_code(owner_client, boston_spa, local_registry):
    response = owner_client.get(url("prospects", boston_spa))
    assert response.status_code == 200
    assert 'value="02116"' in page_text(response)


def test_a_search_lists_providers_nearest_first_and_marks_those_the_spa_has(owner_client, boston_spa, local_registry):
    with scope(spa=boston_spa):
        PracticeFactory(spa=boston_spa, name="Glow Dermatology", npi=GLOW_NPI)
    response = owner_client.get(url("prospects", boston_spa), SEARCH)
    assert response.status_code == 200
    text = page_text(response)
    assert "Already yours" in text and "same NPI" in text
    assert _npis_offered(response) == {PATEL_NPI}  # Glow is already a practice: nothing to tick
    assert text.index("Glow Dermatology") < text.index("Anjali Patel, MD")  # 0 km before 4 km


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"specialty": "tarot", "postal_code": "02116"}, "specialty", "Select a valid choice"),
        ({"specialty": "other", "postal_code": "02116"}, "specialty", "Select a valid choice"),
        ({"specialty": "dermatology", "postal_code": "00000"}, "postal_code", "We don't know the US ZIP code"),
        ({"specialty": "dermatology", "city": "Boston"}, "postal_code", "Enter a ZIP code, or a city and its state"),
        ({"specialty": "dermatology", "city": "Boston", "state": "M4"}, "state", "two-letter code"),
        ({"specialty": "dermatology", "postal_code": "02116", "radius_km": "9999"}, "radius_km", "valid choice"),
    ],
)
def test_bad_searches_are_told_next_to_the_field(owner_client, boston_spa, local_registry, params, field, message):
    response = owner_client.get(url("prospects", boston_spa), params)
    assert response.status_code == 400
    error = re.search(rf'id="id_{field}_error"[^>]*>(.*?)</div>', page_text(response), re.S)
    assert error and message in html.unescape(error.group(1))


def test_an_unreachable_registry_is_a_message_not_an_error_page(owner_client, boston_spa, settings):
    settings.NPI_REGISTRY_SOURCE = "api"
    settings.NPI_REGISTRY_URL = "http://127.0.0.1:9/api/"  # the discard port: nothing answers
    settings.NPI_REGISTRY_TIMEOUT = 0.5
    response = owner_client.get(url("prospects", boston_spa), SEARCH)
    assert response.status_code == 503
    assert "The NPI registry cannot be reached right now" in page_text(response)


def _import(client, spa, npis, capture, **extra):
    """POST an import of ``npis`` from SEARCH, running the worker the commit enqueues (Celery is eager in tests)."""
    with capture(execute=True):
        return client.post(url("prospects_import", spa), {**SEARCH, "npi": npis, **extra})


def test_importing_creates_audited_prospects_and_clinicians(
    owner_client, owner, boston_spa, local_registry, django_capture_on_commit_callbacks
):
    response = _import(owner_client, boston_spa, [GLOW_NPI, PATEL_NPI], django_capture_on_commit_callbacks)
    assert response.status_code == 302 and "/prospects/imports/" in response["Location"]
    with scope(spa=boston_spa):
        glow = Practice.objects.get(npi=GLOW_NPI)
        assert (glow.name, glow.stage, glow.source, glow.city, glow.state, glow.postal_code, glow.phone) == (
            "Glow Dermatology LLC", Stage.PROSPECT, "directory", "Boston", "MA", "02116", "+16175550142"
        )  # fmt: skip
        assert glow.latitude is not None
        patel = Clinician.objects.select_related("practice").get(npi=PATEL_NPI)
        assert (patel.first_name, patel.last_name, patel.credentials) == ("Anjali", "Patel", "MD")
        assert patel.practice.name == "Anjali Patel, MD" and patel.practice.npi == ""
        job = ProspectImport.objects.get(spa=boston_spa)
        assert (job.status, job.done, job.total, job.created_by) == ("done", 2, 2, owner)
        assert set(job.created_ids) == {str(glow.public_id), str(patel.practice.public_id)}
        started = AuditEvent.objects.get(spa=boston_spa, action="prospects.import_started")
        event = AuditEvent.objects.get(spa=boston_spa, action="prospects.imported")
    assert started.actor == owner and set(started.detail["npis"]) == {GLOW_NPI, PATEL_NPI}
    assert event.actor == owner and event.detail["source"] == "file" and len(event.detail["created"]) == 2
    result = page_text(owner_client.get(response["Location"]))
    assert "2 of 2 done" in result and "2 new prospects" in result
    assert "Glow Dermatology LLC" in result and "Anjali Patel, MD" in result
    assert "every 1s" not in result  # finished: the page stops polling
    assert _npis_offered(owner_client.get(url("prospects", boston_spa), SEARCH)) == set()  # both are the spa's now


def test_importing_again_skips_what_the_spa_already_has(
    owner_client, boston_spa, local_registry, django_capture_on_commit_callbacks
):
    with scope(spa=boston_spa):
        practice = PracticeFactory(spa=boston_spa, name="Some Practice")
        ClinicianFactory(spa=boston_spa, practice=practice, npi=PATEL_NPI)
    response = _import(owner_client, boston_spa, [PATEL_NPI], django_capture_on_commit_callbacks)
    text = page_text(owner_client.get(response["Location"]))
    assert "1 skipped: already yours" in text and "Some Practice" in text and "same NPI" in text
    assert "Nothing new" in text
    with scope(spa=boston_spa):
        assert Practice.objects.count() == 1


def test_a_similar_name_in_the_same_city_is_a_duplicate_too(
    owner_client, boston_spa, local_registry, django_capture_on_commit_callbacks
):
    with scope(spa=boston_spa):
        PracticeFactory(spa=boston_spa, name="Glow Dermatology", city="Boston", npi="")
    response = owner_client.get(url("prospects", boston_spa), SEARCH)
    assert "similar name in the same city" in page_text(response)
    _import(owner_client, boston_spa, [GLOW_NPI], django_capture_on_commit_callbacks)
    with scope(spa=boston_spa):
        assert Practice.objects.count() == 1


def test_an_import_with_nothing_chosen_or_a_forged_npi_changes_nothing(owner_client, boston_spa, local_registry):
    response = owner_client.post(url("prospects_import", boston_spa), {**SEARCH, "npi": [HARBOR_NPI]}, follow=True)
    assert "Choose at least one practice or clinician to import." in messages_on(response)  # not in this search
    response = owner_client.post(url("prospects_import", boston_spa), {"specialty": "tarot"}, follow=True)
    assert "search again" in " ".join(messages_on(response))
    with scope(spa=boston_spa):
        assert not Practice.objects.exists()
        assert not ProspectImport.objects.exists()
    assert owner_client.get(url("prospects_import", boston_spa)).status_code == 405


def test_the_import_page_shows_progress_while_the_worker_runs(
    owner_client, boston_spa, local_registry, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = owner_client.post(url("prospects_import", boston_spa), {**SEARCH, "npi": [GLOW_NPI, PATEL_NPI]})
    assert len(enqueued) == 1  # the worker starts only after the commit
    waiting = owner_client.get(response["Location"])
    text = page_text(waiting)
    assert "Waiting to start" in text and "0 of 2 done" in text and 'hx-trigger="every 1s"' in text
    partial = page_text(owner_client.get(response["Location"], **HTMX))
    assert "<html" not in partial and 'aria-valuenow="0"' in partial and 'aria-valuemax="2"' in partial
    enqueued[0]()  # the worker runs (eagerly)
    finished = page_text(owner_client.get(response["Location"], **HTMX))
    assert "2 of 2 done" in finished and 'aria-valuenow="2"' in finished and "every 1s" not in finished


@pytest.mark.parametrize("name", ["prospects", "nearby"])
def test_outsiders_get_404_and_anonymous_the_sign_in(client, outsider_client, boston_spa, name):
    assert outsider_client.get(url(name, boston_spa)).status_code == 404
    response = client.get(url(name, boston_spa))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_outsider_cannot_import_into_another_spa(outsider_client, boston_spa, local_registry):
    response = outsider_client.post(url("prospects_import", boston_spa), {**SEARCH, "npi": [GLOW_NPI]})
    assert response.status_code == 404
    with scopes_disabled():
        assert not Practice.objects.exists()
        assert not ProspectImport.objects.exists()


def test_an_import_page_is_404_to_another_spa_and_asks_anonymous_to_sign_in(
    owner_client, outsider_client, client, boston_spa, local_registry, django_capture_on_commit_callbacks
):
    response = _import(owner_client, boston_spa, [GLOW_NPI], django_capture_on_commit_callbacks)
    assert outsider_client.get(response["Location"]).status_code == 404
    assert outsider_client.get(response["Location"], **HTMX).status_code == 404
    anonymous = client.get(response["Location"])
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    unknown = response["Location"].replace(response["Location"].split("/")[-2], "00000000-0000-0000-0000-000000000000")
    assert owner_client.get(unknown).status_code == 404


def test_the_distance_list_is_nearest_first_with_unknown_places_last(owner_client, boston_spa, settings):
    settings.MAP_TILE_URL = ""
    with scope(spa=boston_spa):
        PracticeFactory(spa=boston_spa, name="Worcester Skin", postal_code="01608")
        PracticeFactory(spa=boston_spa, name="No Zip Clinic", postal_code="")
        PracticeFactory(spa=boston_spa, name="Brookline Derm", postal_code="02445", stage=Stage.ACTIVE)
    response = owner_client.get(url("nearby", boston_spa))
    text = page_text(response)
    assert text.index("Brookline Derm") < text.index("Worcester Skin") < text.index("No Zip Clinic")
    assert "The map is off" in text and "partner-map" not in text
    only_partners = page_text(owner_client.get(url("nearby", boston_spa, query="show=partners")))
    assert "Brookline Derm" in only_partners and "Worcester Skin" not in only_partners
    assert owner_client.get(url("nearby", boston_spa, query="show=<script>")).status_code == 200


def test_the_map_is_on_with_a_tile_server_and_names_every_placed_practice(owner_client, boston_spa, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    with scope(spa=boston_spa):
        PracticeFactory(spa=boston_spa, name="Brookline Derm", postal_code="02445")
    text = page_text(owner_client.get(url("nearby", boston_spa)))
    assert 'id="partner-map"' in text and "vendor/leaflet/leaflet.js" in text
    config = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', text, re.S).group(1)
    assert "Brookline Derm" in config and "tiles.example.org" in config and '"kind": "spa"' in config


def test_the_distance_list_is_paginated_in_distance_order_with_a_constant_query_count(
    owner_client, boston_spa, django_assert_max_num_queries
):
    with scope(spa=boston_spa):
        for number in range(52):
            PracticeFactory(spa=boston_spa, name=f"Far Practice {number:02}", postal_code="01608")
        PracticeFactory(spa=boston_spa, name="Near Practice", postal_code="02116")
    with django_assert_max_num_queries(12):
        first = page_text(owner_client.get(url("nearby", boston_spa)))
    assert "Near Practice" in first and "Page 1 of 2" in first
    second = page_text(owner_client.get(url("nearby", boston_spa, query="show=all&page=2")))
    assert "Near Practice" not in second and second.count("Far Practice") == 3
    assert owner_client.get(url("nearby", boston_spa, query="page=x")).status_code == 200
