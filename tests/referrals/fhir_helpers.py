"""Helpers for the FHIR tests: resources as a clinic's EHR sends them, and a client that posts FHIR JSON."""

import copy
import json

FHIR_JSON = "application/fhir+json"
BASE = "/fhir/r4/"
METADATA_URL = "/fhir/r4/metadata"
SERVICE_REQUEST_URL = "/fhir/r4/ServiceRequest"
CONSENT_URL = "urn:spa-referrals:fhir:patient-consented-to-contact"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NPI = "1234567893"  # valid check digit
OTHER_NPI = "1987654328"  # valid check digit too
PATIENT_UUID = "urn:uuid:8c5a4e2f-3b1d-4c6e-9f0a-2d7b1e3c4a5f"
PRACTITIONER_UUID = "urn:uuid:1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b"
REQUEST_UUID = "urn:uuid:a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def patient(**overrides):
    resource = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": "Whitfield", "given": ["Dana", "Marie"]}],
        "telecom": [
            {"system": "phone", "value": "(617) 555-0199", "use": "mobile"},
            {"system": "email", "value": "dana@example.com"},
        ],
        "birthDate": "1984-03-09",
    }
    resource.update(overrides)
    return resource


def practitioner(npi=NPI, **overrides):
    resource = {
        "resourceType": "Practitioner",
        "identifier": [{"system": NPI_SYSTEM, "value": npi}],
        "name": [{"family": "Patel", "given": ["Priya"], "prefix": ["Dr."]}],
    }
    resource.update(overrides)
    return resource


def consent(value=True):
    return {"url": CONSENT_URL, "valueBoolean": value}


def service_request(*, contained_patient=None, **overrides):
    """A ServiceRequest with a contained Patient ``#p1`` and a requester named by NPI alone."""
    resource = {
        "resourceType": "ServiceRequest",
        "contained": [{**(contained_patient or patient()), "id": "p1"}],
        "extension": [consent()],
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "subject": {"reference": "#p1"},
        "requester": {"identifier": {"system": NPI_SYSTEM, "value": NPI}},
        "reasonCode": [
            {
                "coding": [{"system": "urn:spa-referrals:fhir:referral-reason", "code": "post_procedure_skin_care"}],
                "text": "Two weeks after a chemical peel.",
            }
        ],
        "note": [{"text": "Prefers afternoons."}],
    }
    resource.update(overrides)
    return {name: value for name, value in resource.items() if value is not ...}


def transaction_bundle(*, request_overrides=None, practitioner_resource=None):
    """A transaction Bundle: Patient, Practitioner and a ServiceRequest pointing at both by fullUrl."""
    request = service_request(
        contained=...,
        subject={"reference": PATIENT_UUID},
        requester={"reference": PRACTITIONER_UUID},
        **(request_overrides or {}),
    )
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": PATIENT_UUID, "resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {
                "fullUrl": PRACTITIONER_UUID,
                "resource": practitioner_resource or practitioner(),
                "request": {"method": "POST", "url": "Practitioner"},
            },
            {"fullUrl": REQUEST_UUID, "resource": request, "request": {"method": "POST", "url": "ServiceRequest"}},
        ],
    }


def post_fhir(client, url, body, *, idempotency_key=None, content_type=FHIR_JSON, headers=None, **extra):
    headers = {**(headers or {}), **({"Idempotency-Key": idempotency_key} if idempotency_key is not None else {})}
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, payload, content_type=content_type, headers=headers, **extra)


def without(resource, *path):
    """A deep copy of ``resource`` with the element at ``path`` removed."""
    copied = copy.deepcopy(resource)
    target = copied
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return copied
