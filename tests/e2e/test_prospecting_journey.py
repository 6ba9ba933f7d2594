"""Finding prospects in the browser: search the loaded NPPES file around the spa, import two, see them by distance
and on the map."""

import io

import pytest
from django.core.management import call_command
from django_scopes import scope
from playwright.sync_api import expect

from partners.models import Practice, Stage
from tests.factories import TEST_PASSWORD, PracticeFactory
from tests.partners.nppes_samples import nppes_csv

pytestmark = pytest.mark.browser


@pytest.fixture
def registry_file(settings, tmp_path):
    settings.NPI_REGISTRY_SOURCE = "file"
    path = tmp_path / "npidata.csv"
    path.write_text(nppes_csv(), encoding="utf-8")
    call_command("nppes_load", str(path), stdout=io.StringIO())


def test_a_spa_finds_and_imports_prospects_near_it(page, login, owner, spa, screenshot, registry_file, axe):
    spa.postal_code = "02116"
    spa.save()
    PracticeFactory(spa=spa, name="Harbor Women's Health", specialty="ob_gyn", postal_code="02139", stage=Stage.ACTIVE)
    login(page, owner.email, TEST_PASSWORD)

    page.goto(f"/s/{spa.slug}/partners/prospects/")
    expect(page.get_by_label("ZIP code")).to_have_value("02116")
    page.get_by_label("Specialty").select_option("dermatology")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("2 found, nearest first")).to_be_visible()
    assert axe(page) == []
    screenshot(page, "prospects-search-results")

    page.get_by_label("Glow Dermatology LLC").check()
    page.get_by_label("Anjali Patel, MD").check()
    page.get_by_role("button", name="Import chosen as prospects").click()
    expect(page.get_by_text("2 of 2 done")).to_be_visible()
    expect(page.get_by_role("heading", name="2 new prospects")).to_be_visible()
    assert axe(page) == []
    screenshot(page, "prospect-import-done")
    page.get_by_role("link", name="Back to the search").click()
    expect(page.get_by_text("Already yours")).to_have_count(2)
    expect(page.get_by_text("(same NPI)")).to_have_count(2)  # the practice's NPI, and the clinician's
    screenshot(page, "prospects-after-import")
    with scope(spa=spa):
        assert set(Practice.objects.filter(stage=Stage.PROSPECT).values_list("name", flat=True)) == {
            "Glow Dermatology LLC",
            "Anjali Patel, MD",
        }

    page.goto(f"/s/{spa.slug}/partners/nearby/")
    expect(page.get_by_text("The map is off")).to_be_visible()
    rows = page.locator("tbody tr td:first-child a")
    expect(rows).to_have_text(["Glow Dermatology LLC", "Harbor Women's Health", "Anjali Patel, MD"])
    assert axe(page) == []
    screenshot(page, "partners-by-distance")


def test_the_import_page_follows_the_worker_by_itself(
    page, login, owner, spa, screenshot, registry_file, monkeypatch, axe
):
    from partners.prospecting import importer, services

    started = []
    monkeypatch.setattr(services, "_enqueue", lambda spa_id, job_id: started.append(job_id))  # no worker yet
    spa.postal_code = "02116"
    spa.save()
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/prospects/?specialty=dermatology&postal_code=02116&radius_km=15")
    page.get_by_label("Glow Dermatology LLC").check()
    page.get_by_label("Anjali Patel, MD").check()
    page.get_by_role("button", name="Import chosen as prospects").click()
    expect(page.get_by_text("0 of 2 done")).to_be_visible()
    expect(page.get_by_text("Waiting for a worker to start")).to_be_visible()
    assert axe(page) == []
    screenshot(page, "prospect-import-waiting")
    with scope(spa=spa):
        importer.prospect_import_run(started[0])  # the worker, while the page is open
    expect(page.get_by_text("2 of 2 done")).to_be_visible(timeout=5000)  # htmx polled it in, no reload
    expect(page.get_by_role("link", name="Glow Dermatology LLC")).to_be_visible()


def test_the_map_shows_the_spa_and_its_practices(page, login, owner, spa, screenshot, settings, live_server, axe):
    # Tiles from the live server itself (the policy allows our own origin); any image will do for a test.
    settings.MAP_TILE_URL = live_server.url + "/static/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    spa.postal_code = "02116"
    spa.save()
    PracticeFactory(spa=spa, name="Brookline Derm", postal_code="02445")
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/nearby/")
    expect(page.locator("#partner-map .leaflet-interactive")).to_have_count(2)  # the spa and one practice
    assert axe(page) == []
    screenshot(page, "partners-map")
