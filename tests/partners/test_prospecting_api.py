"""The online source: the registry's JSON API, served here by a local HTTP server with a recorded answer."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from partners.prospecting.candidates import ProspectQuery
from partners.prospecting.sources import (
    MAX_PREFIXES,
    RegistryApiSource,
    SearchError,
    SourceUnavailable,
    prospect_source,
)

from .nppes_samples import GLOW_NPI, PATEL_NPI, WORCESTER_NPI, api_result, make_npi

RECORDED = {
    "result_count": 4,
    "results": [
        api_result(GLOW_NPI, org="GLOW DERMATOLOGY LLC", zip_code="02116"),
        api_result(
            PATEL_NPI,
            kind="NPI-1",
            first="ANJALI",
            last="PATEL",
            credential="M.D.",
            city="BROOKLINE",
            zip_code="02445",
            street="1 BROOKLINE PL",
        ),  # fmt: skip
        # In the answer to a "021*" prefix search or not, Worcester is outside a 15 km circle around 02116.
        api_result(WORCESTER_NPI, org="WORCESTER SKIN CENTER", city="WORCESTER", zip_code="01608"),
        # A description match whose primary taxonomy is not one of dermatology's codes.
        api_result(
            make_npi("166666666"), org="SKIN AND LASER SPA", code="261QM1300X", desc="Clinic/Center, Multi-Specialty"
        ),
    ],
}


class _Registry:
    def __init__(self):
        self.requests, self.answer, self.delay = [], RECORDED, 0.0
        self.answers_by_zip = {}  # a "postal_code" asked for -> its own answer (else ``answer``)


@pytest.fixture
def registry(settings):
    state = _Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            asked = parse_qs(urlsplit(self.path).query)
            state.requests.append(asked)
            time.sleep(state.delay)
            answer = state.answers_by_zip.get((asked.get("postal_code") or [""])[0], state.answer)
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NPI_REGISTRY_URL = f"http://127.0.0.1:{server.server_address[1]}/api/"
    settings.NPI_REGISTRY_SOURCE = "api"
    settings.NPI_REGISTRY_TIMEOUT = 1.0
    settings.NPI_REGISTRY_REQUESTS_PER_SECOND = 50
    yield state
    server.shutdown()
    server.server_close()


def test_a_radius_search_asks_by_description_and_zip_prefix_and_keeps_the_circle(db, registry):
    found = prospect_source().search(ProspectQuery(specialty="dermatology", postal_code="02116", radius_km=15))
    asked = {"version": ["2.1"], "taxonomy_description": ["Dermatology"], "limit": ["200"]}
    # Every 3-digit area the 15 km circle touches, the searched ZIP code's own first (Brookline is 024).
    assert registry.requests[0] == {**asked, "postal_code": ["021*"]}
    assert {request["postal_code"][0] for request in registry.requests} == {
        "021*",
        "022*",
        "024*",
        "018*",
        "019*",
        "020*",
    }
    assert all({**request, "postal_code": None} == {**asked, "postal_code": None} for request in registry.requests)
    assert sorted(candidate.npi for candidate in found) == sorted({GLOW_NPI, PATEL_NPI})  # each once
    patel = next(candidate for candidate in found if candidate.npi == PATEL_NPI)
    assert (patel.display_name, patel.city, patel.postal_code, patel.address) == (
        "Anjali Patel, MD", "Brookline", "02445", "1 Brookline Pl"
    )  # fmt: skip
    assert patel.phone == "617-555-0142" and patel.distance_km < 15


def test_a_provider_across_the_zip_area_line_is_found(db, registry):
    registry.answer = {"result_count": 0, "results": []}
    registry.answers_by_zip["021*"] = {"result_count": 1, "results": [RECORDED["results"][0]]}
    registry.answers_by_zip["024*"] = {"result_count": 1, "results": [RECORDED["results"][1]]}  # Brookline
    found = RegistryApiSource().search(ProspectQuery(specialty="dermatology", postal_code="02116", radius_km=15))
    assert [candidate.npi for candidate in found] == [GLOW_NPI, PATEL_NPI]  # nearest first


def test_a_wide_circle_asks_the_nearest_areas_only(db, registry):
    RegistryApiSource().search(ProspectQuery(specialty="dermatology", postal_code="02116", radius_km=100))
    asked = [request["postal_code"][0] for request in registry.requests]
    assert len(asked) == MAX_PREFIXES and asked[0] == "021*" and "062*" not in asked  # Connecticut is farthest


def test_the_second_identical_search_is_answered_from_the_cache(db, registry):
    query = ProspectQuery(specialty="dermatology", city="Boston", state="ma")
    first = RegistryApiSource().search(query)
    second = RegistryApiSource().search(query)
    assert len(registry.requests) == 1
    assert registry.requests[0]["city"] == ["Boston"] and registry.requests[0]["state"] == ["MA"]
    assert [candidate.npi for candidate in first] == [candidate.npi for candidate in second]


def test_a_slow_registry_is_a_clear_message(db, registry, settings):
    settings.NPI_REGISTRY_TIMEOUT = 0.2
    registry.delay = 1.0
    with pytest.raises(SourceUnavailable, match="cannot be reached right now.*local NPPES file"):
        RegistryApiSource().search(ProspectQuery(specialty="dermatology", postal_code="02116"))


def test_an_unreachable_registry_is_a_clear_message(db, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.NPI_REGISTRY_URL = f"http://127.0.0.1:{port}/api/"
    with pytest.raises(SourceUnavailable, match="cannot be reached"):
        RegistryApiSource().search(ProspectQuery(specialty="dermatology", postal_code="02116"))


def test_a_refused_search_says_why_and_is_not_cached(db, registry):
    registry.answer = {"Errors": [{"description": "Field postal_code requires at least 2 characters", "field": "x"}]}
    query = ProspectQuery(specialty="dermatology", postal_code="02116")
    with pytest.raises(SearchError, match="requires at least 2 characters"):
        RegistryApiSource().search(query)
    with pytest.raises(SearchError):
        RegistryApiSource().search(query)
    assert len(registry.requests) == 2


def test_an_answer_that_is_not_json_is_unreachable_not_a_crash(db, registry):
    registry.answer = ["not", "an", "object"]
    with pytest.raises(SourceUnavailable):
        RegistryApiSource().search(ProspectQuery(specialty="dermatology", postal_code="02116"))


def test_requests_are_spaced_to_the_rate_limit(db, registry, settings):
    settings.NPI_REGISTRY_REQUESTS_PER_SECOND = 5
    started = time.monotonic()
    for zip_code in ("02116", "02115", "02114"):
        RegistryApiSource().search(ProspectQuery(specialty="dermatology", postal_code=zip_code))
    assert len(registry.requests) == 3
    assert time.monotonic() - started >= 0.38  # three requests at 5/s: two gaps of 0.2 s
