"""The OpenAPI document (/api/schema/) is valid OpenAPI 3 and describes the API; the docs page is self-hosted."""

import os
import re
import subprocess
import sys

import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

FHIR_PATHS = {"/fhir/r4", "/fhir/r4/metadata", "/fhir/r4/ServiceRequest", "/fhir/r4/ServiceRequest/{referral_id}"}


def _schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_3(client):
    schema = _schema(client)

    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")


def test_the_schema_describes_every_endpoint_and_the_bearer_key(client):
    schema = _schema(client)

    assert set(schema["paths"]) == {
        "/api/v1/referrals/",
        "/api/v1/referrals/{referral_id}/",
        "/api/v1/services/",
        *FHIR_PATHS,
        "/inbound/email/",
        "/inbound/sms/",
    }
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key (sk_…)",
        "description": "A practice's API key, created by the spa's owner under Settings → API keys.",
    }
    create = schema["paths"]["/api/v1/referrals/"]["post"]
    assert create["security"] == [{"ApiKeyAuth": []}]
    assert {parameter["name"] for parameter in create["parameters"]} == {"Idempotency-Key"}
    assert {"201", "400", "401", "413", "415", "422"} <= set(create["responses"])
    created = schema["components"]["schemas"]["ReferralCreateInput"]
    assert "patient_consented_to_contact" in created["required"]
    assert created["properties"]["patient_consented_to_contact"]["type"] == "boolean"
    assert created["properties"]["patient_first_name"]["maxLength"] == 80


def test_the_schema_describes_the_fhir_endpoints(client):
    schema = _schema(client)

    metadata = schema["paths"]["/fhir/r4/metadata"]["get"]
    assert "security" not in metadata or metadata["security"] in ([], [{}])  # the CapabilityStatement needs no key
    for path, method in (("/fhir/r4/ServiceRequest", "post"), ("/fhir/r4", "post")):
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"ApiKeyAuth": []}]
        assert {"application/fhir+json", "application/json"} <= set(operation["requestBody"]["content"])
        assert "Idempotency-Key" in {parameter["name"] for parameter in operation["parameters"]}
        for code in ("400", "401", "413", "415", "422", "429"):
            content = operation["responses"][code]["content"]["application/fhir+json"]
            assert content["schema"] == {"$ref": "#/components/schemas/OperationOutcome"}
    create = schema["paths"]["/fhir/r4/ServiceRequest"]["post"]
    example = create["requestBody"]["content"]["application/fhir+json"]["examples"]["AContainedPatient"]["value"]
    assert example["subject"] == {"reference": "#p1"}
    read = schema["paths"]["/fhir/r4/ServiceRequest/{referral_id}"]["get"]
    assert {"200", "401", "404", "429"} <= set(read["responses"])
    assert schema["components"]["schemas"]["OperationOutcome"]["required"] == ["issue", "resourceType"]


def test_the_schema_is_also_served_as_yaml(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Spa Referrals API"


def test_generating_the_schema_gives_no_warnings(tmp_path):
    output = tmp_path / "schema.yaml"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "spa_referrals.settings.test"}

    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(output)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    assert output.read_text().startswith("openapi: 3")


def test_the_docs_page_loads_its_assets_from_this_site_only(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page
    external = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, flags=re.IGNORECASE)
    assert external == []
    assert '"validatorUrl": null' in page
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', page):
        assert finders.find(asset), asset
    assert len(re.findall(r'(?:src|href)="/static/', page)) >= 3


def test_the_schema_describes_the_inbound_webhooks_and_their_signatures(client):
    schema = _schema(client)

    email = schema["paths"]["/inbound/email/"]["post"]
    assert email["security"] == [{"InboundEmailSignature": []}]
    assert {"application/octet-stream", "message/rfc822", "multipart/form-data"} <= set(email["requestBody"]["content"])
    assert {"201", "200", "400", "403", "404", "409", "413", "415", "503"} <= set(email["responses"])
    sms = schema["paths"]["/inbound/sms/"]["post"]
    assert sms["security"] == [{"TwilioSignature": []}]
    assert set(sms["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}
    assert sms["responses"]["200"]["content"] == {"text/xml": {"schema": {"type": "string"}}}
    schemes = schema["components"]["securitySchemes"]
    assert schemes["TwilioSignature"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Twilio's request signature, keyed with the account's auth token.",
    }
