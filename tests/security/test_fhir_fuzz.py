"""FHIR fuzzing: no body makes /fhir/r4/ answer a server error, and every answer is FHIR.

Hypothesis posts arbitrary JSON documents, and valid ServiceRequests and transaction Bundles with one element
replaced by arbitrary JSON (or removed, or joined by an unknown one), with a real API key. Each answer must be
a FHIR resource the library reads — the created ServiceRequest or transaction-response Bundle, or an
OperationOutcome with at least one issue — never a 500, and a referral exists only when the answer says it
was created.

``FHIR_FUZZ_EXAMPLES`` (default 150) sets the generated cases per test; raise it for a longer run.
"""

import copy
import json
import os

import pytest
from django_scopes import scope, scopes_disabled
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from referrals.models import Referral
from tests.factories import ClinicianFactory, PracticeFactory, SpaFactory
from tests.referrals.api_helpers import api_setup, bearer_client
from tests.referrals.fhir_helpers import BASE, FHIR_JSON, NPI, SERVICE_REQUEST_URL, service_request, transaction_bundle

EXAMPLES = int(os.environ.get("FHIR_FUZZ_EXAMPLES", "150"))
# Values a FHIR document is made of, so a replaced element often looks almost right.
FHIR_WORDS = [
    "ServiceRequest",
    "Patient",
    "Practitioner",
    "Bundle",
    "OperationOutcome",
    "#p1",
    "#",
    "urn:uuid:8c5a4e2f-3b1d-4c6e-9f0a-2d7b1e3c4a5f",
    "Patient/p1",
    "active",
    "draft",
    "order",
    "transaction",
    "POST",
    "1984-03-09",
    "1984",
    "2026-12-06T10:00:00Z",
    "http://hl7.org/fhir/sid/us-npi",
    NPI,
    "urn:spa-referrals:fhir:patient-consented-to-contact",
    "",
    " ",
    "\u0000",
    "\ud800",
    "x" * 3000,
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(FHIR_WORDS)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def api(db, settings):
    settings.API_KEY_THROTTLE_RATE = ""  # thousands of requests a minute from one key; the limit has its own tests
    spa = SpaFactory(name="FHIR Fuzz Spa", slug="fhir-fuzz-spa")
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Fuzz Dermatology", specialty="dermatology")
        ClinicianFactory(spa=spa, practice=practice, npi=NPI)
    setup = api_setup(spa, practice=practice, name="FHIR fuzzer")
    return bearer_client(setup.raw_key, raise_request_exception=False)


def _paths(document, prefix=()):
    """Every element's path in a JSON document: keys and list indexes from the root."""
    found = []
    children = (
        document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else ()
    )
    for step, child in children:
        found.append((*prefix, step))
        found += _paths(child, (*prefix, step))
    return found


def _mutated(document, path, action, value):
    document = copy.deepcopy(document)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if action == "replace":
        parent[path[-1]] = value
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent["zzUnknown"] = value
    else:
        parent.append(value)
    return document


def _referral_count():
    with scopes_disabled():
        return Referral.objects.count()


def _check(api, url, body):
    """Post ``body``; the answer must be FHIR and no server error, and say whether it created a referral."""
    before = _referral_count()
    response = api.post(url, json.dumps(body), content_type=FHIR_JSON)  # ASCII: a lone surrogate is sent escaped
    assert response.status_code < 500, (response.status_code, body)
    assert response["Content-Type"].startswith(FHIR_JSON)
    document = response.json()
    if response.status_code in (200, 201):
        (Bundle if url == BASE else ServiceRequest).model_validate(document)
        assert _referral_count() == before + 1
    else:
        assert OperationOutcome.model_validate(document).issue, document
        assert _referral_count() == before
    return response.status_code


def _run(strategy, test):
    statuses = []

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        statuses.append(test(case))

    run()
    return statuses


def test_arbitrary_json_never_gets_a_server_error(api):
    statuses = _run(JSON_VALUES, lambda document: _check(api, SERVICE_REQUEST_URL, document))

    assert len(statuses) >= min(EXAMPLES, 50)
    assert set(statuses) <= {400, 413, 422}


@pytest.mark.parametrize(("url", "valid"), [(SERVICE_REQUEST_URL, service_request), (BASE, transaction_bundle)])
def test_a_valid_resource_with_one_element_mangled_never_gets_a_server_error(api, url, valid):
    document = valid()
    cases = st.tuples(st.sampled_from(_paths(document)), st.sampled_from(["replace", "remove", "add"]), JSON_VALUES)

    statuses = _run(cases, lambda case: _check(api, url, _mutated(document, *case)))

    assert len(statuses) >= min(EXAMPLES, 50)
    assert {400, 422} <= set(statuses)  # the mangling reached both the library's checks and the referral rules
    assert set(statuses) & {200, 201}  # and some mangled documents are still referrals (an unknown note, say)


def test_the_fuzzer_reports_a_server_error(api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("referrals.fhir.apis.service_request_create", broken)
    document = service_request()

    with pytest.raises(AssertionError, match="500"):
        _run(st.sampled_from(_paths(document)), lambda path: _check(api, SERVICE_REQUEST_URL, document))
