"""The CapabilityStatement (GET /fhir/r4/metadata): what this server does, the same for everyone.

It names no spa and no practice: a key's spa is known only once the key is checked, and a clinic's system reads
the statement before it has one to send.
"""

from django.conf import settings
from django.utils.translation import gettext as _

from .mapping import CONSENT_EXTENSION_URL, NPI_SYSTEM, REASON_SYSTEM, STATUS_SYSTEM

# When this statement last changed: a client caching it compares this date.
STATEMENT_DATE = "2026-12-06"


def capability_statement():
    """The CapabilityStatement resource (a dict)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": "Spa Referrals",
        "kind": "instance",
        "software": {"name": "Spa Referrals"},
        "implementation": {
            "description": _("Referrals from clinic systems to a spa"),
            "url": f"{settings.SITE_URL}/fhir/r4",
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": _(
                    "Send a referral as a ServiceRequest whose subject is a contained Patient, or as a transaction "
                    "Bundle of Patient, Practitioner and ServiceRequest entries (POST to the base). Send an "
                    "Idempotency-Key header to make retries safe. Errors are OperationOutcomes."
                ),
                "security": {
                    "cors": False,
                    "description": _(
                        "A practice's API key, created by the spa's owner under Settings → API keys, sent as "
                        "“Authorization: Bearer <key>”. The key names the spa and the referring practice."
                    ),
                },
                "resource": [_service_request_capability()],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }


def _service_request_capability():
    return {
        "type": "ServiceRequest",
        "documentation": _(
            "The patient's agreement to be contacted is attested by the referring office with the extension "
            "%(consent)s (valueBoolean true); without it the request is refused. The requester's NPI "
            "(%(npi)s) picks the practice's clinician. A reason coded in %(reasons)s sets the referral's reason "
            "(the REST API's reason_category values); reasons' texts and notes are kept as its details. Reading "
            "a ServiceRequest gives its status and a contained Task whose businessStatus (%(statuses)s) is the "
            "referral's status; no patient details are returned."
        )
        % {"consent": CONSENT_EXTENSION_URL, "npi": NPI_SYSTEM, "reasons": REASON_SYSTEM, "statuses": STATUS_SYSTEM},
        "interaction": [
            {"code": "read", "documentation": _("One of your practice's referrals, by the id create returned.")},
            {"code": "create", "documentation": _("Refer a patient; answers 201 with Location.")},
        ],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalRead": "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
    }
