"""FHIR ↔ referral, both ways, as pure functions (no database).

In: a ServiceRequest and the Patient (and Practitioner) it points at become the REST API's input fields, so
that the API's own rules (names, a reachable patient, a real phone number in the spa's country, a reason of the
practice's specialty, the clinic's attestation of consent) judge a FHIR referral exactly as a JSON one.

Out: a referral becomes a ServiceRequest with its ``status`` and a contained ``Task`` whose ``status`` and
``businessStatus`` say where the spa is with it. Like the REST API's answer it carries no patient details:
a practice's system knows its own patient, and what the spa learnt since is the spa's.

The tables (README "FHIR R4"):

========================  =========================  ==============  ==================================
referral status           ServiceRequest.status      Task.status     why
========================  =========================  ==============  ==================================
received                  active                     received        the spa has it, not yet decided
accepted                  active                     accepted
contacted, scheduled      active                     in-progress
no_show, unreachable      active                     on-hold         open: rescheduled or tried again
completed                 completed                  completed
declined                  revoked                    rejected        the spa said no
cancelled                 revoked                    cancelled
withdrawn                 revoked                    cancelled       the practice took it back
========================  =========================  ==============  ==================================

Priority in → urgency: routine → routine, urgent → within a week, asap and stat → urgent (within 2 days); out:
routine, urgent, asap.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from partners.models import npi_is_valid

from ..api.selectors import PRACTICE_TIMELINE_EVENTS
from ..models import Status, Urgency
from .wire import refuse

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
# This server's own names. Logical URIs (no host): they are the same on every installation of the product.
CONSENT_EXTENSION_URL = "urn:spa-referrals:fhir:patient-consented-to-contact"
REASON_SYSTEM = "urn:spa-referrals:fhir:referral-reason"
STATUS_SYSTEM = "urn:spa-referrals:fhir:referral-status"
CONSENT_EXPRESSION = f"ServiceRequest.extension('{CONSENT_EXTENSION_URL}')"
REFERRAL_CATEGORY = {"coding": [{"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}]}

SERVICE_REQUEST_STATUS = {
    Status.RECEIVED: "active",
    Status.ACCEPTED: "active",
    Status.CONTACTED: "active",
    Status.SCHEDULED: "active",
    Status.NO_SHOW: "active",
    Status.UNREACHABLE: "active",
    Status.COMPLETED: "completed",
    Status.DECLINED: "revoked",
    Status.CANCELLED: "revoked",
    Status.WITHDRAWN: "revoked",
}
TASK_STATUS = {
    Status.RECEIVED: "received",
    Status.ACCEPTED: "accepted",
    Status.CONTACTED: "in-progress",
    Status.SCHEDULED: "in-progress",
    Status.NO_SHOW: "on-hold",
    Status.UNREACHABLE: "on-hold",
    Status.COMPLETED: "completed",
    Status.DECLINED: "rejected",
    Status.CANCELLED: "cancelled",
    Status.WITHDRAWN: "cancelled",
}
PRIORITY_TO_URGENCY = {
    "routine": Urgency.ROUTINE,
    "urgent": Urgency.SOON,
    "asap": Urgency.URGENT,
    "stat": Urgency.URGENT,
}
URGENCY_TO_PRIORITY = {Urgency.ROUTINE: "routine", Urgency.SOON: "urgent", Urgency.URGENT: "asap"}

# Where each of the REST API's input fields comes from, to name it in an OperationOutcome.
FIELD_EXPRESSIONS = {
    "patient_first_name": "Patient.name.given",
    "patient_last_name": "Patient.name.family",
    "patient_phone": "Patient.telecom",
    "patient_email": "Patient.telecom",
    "preferred_contact_method": "Patient.telecom.rank",
    "patient_date_of_birth": "Patient.birthDate",
    "reason_category": "ServiceRequest.reasonCode",
    "reason_text": "ServiceRequest.note",
    "urgency": "ServiceRequest.priority",
    "clinician": "ServiceRequest.requester",
    "patient_consented_to_contact": CONSENT_EXPRESSION,
    "consent_to_contact": CONSENT_EXPRESSION,
}
PREFERRED_METHOD_BY_SYSTEM = {"phone": "phone", "sms": "text", "email": "email"}
UNRANKED = 1_000_000


def expression_for_field(name):
    return FIELD_EXPRESSIONS.get(name, "ServiceRequest")


# --- in ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralInput:
    """The REST API's input fields read from FHIR, and who the request says referred (their NPI and name as
    sent, empty when it names nobody), which services.py matches to one of the practice's clinicians."""

    data: dict
    npi: str
    requester_name: str


def referral_input(referred):
    """The REST API's input fields for a ServiceRequest with its Patient and Practitioner (resources.Referred)."""
    request, patient = referred.service_request, referred.patient
    _check_request(request)
    first_name, last_name = _patient_name(patient)
    phone, email, method = _telecom(patient)
    data = {
        "patient_first_name": first_name,
        "patient_last_name": last_name,
        "patient_phone": phone,
        "patient_email": email,
        "preferred_contact_method": method,
        "patient_date_of_birth": _birth_date(patient),
        "reason_category": _reason_category(request),
        "reason_text": _reason_text(request),
        "urgency": PRIORITY_TO_URGENCY[request.priority or "routine"],
        "patient_consented_to_contact": _consent(request),
    }
    npi, name = _requester(request, referred.practitioner)
    return ReferralInput(data=data, npi=npi, requester_name=name)


def _check_request(request):
    if request.status != "active":
        refuse(
            _("Only an active request is a referral: send status “active” (this one is “%(status)s”).")
            % {"status": request.status},
            expression="ServiceRequest.status",
        )
    if request.doNotPerform:
        refuse(_("A request not to do something is not a referral."), expression="ServiceRequest.doNotPerform")
    if request.priority is not None and request.priority not in PRIORITY_TO_URGENCY:
        refuse(
            _("Use one of the request priorities: routine, urgent, asap, stat."),
            expression="ServiceRequest.priority",
            code="code-invalid",
            status_code=400,
        )


def _patient_name(patient):
    """(given names, family name) of the Patient's usual or official name, else its first one."""
    names = [name for name in patient.name or [] if name.use != "old"]
    preferred = [name for name in names if name.use in ("usual", "official")]
    name = (preferred or names or [None])[0]
    if name is None:
        return "", ""
    return _given(name), (name.family or "").strip()


def _given(name):
    # The library keeps a null in a list of strings ("given": [null]).
    return " ".join(part.strip() for part in name.given or [] if part).strip()


def _telecom(patient):
    """(phone, email, preferred contact method): of each kind the best-ranked current one; the preferred method
    is the system of the best-ranked of all (sms → a text), else a call when there is a phone, else email."""
    best = {}
    for point in patient.telecom or []:
        if point.use == "old" or not point.value or point.system not in PREFERRED_METHOD_BY_SYSTEM:
            continue
        kind = "email" if point.system == "email" else "phone"
        rank = point.rank if point.rank is not None else UNRANKED
        if kind not in best or rank < best[kind][0]:
            best[kind] = (rank, point.value.strip(), point.system)
    phone = best["phone"][1] if "phone" in best else ""
    email = best["email"][1] if "email" in best else ""
    ranked = sorted(best.values(), key=lambda choice: choice[0])
    if ranked and ranked[0][0] != UNRANKED:
        method = PREFERRED_METHOD_BY_SYSTEM[ranked[0][2]]
    else:
        method = "email" if email and not phone else "phone"
    return phone, email, method


def _birth_date(patient):
    if patient.birthDate is None:
        return None
    if isinstance(patient.birthDate, str):  # the library keeps a partial date ("1980", "1980-02") as text
        refuse(_("Give the full date of birth (YYYY-MM-DD)."), expression="Patient.birthDate")
    return patient.birthDate


def _reason_category(request):
    """The first reason coded in this server's reason system (its codes are the REST API's ``reason_category``
    values), else "other"; the REST API's rules then check it against the practice's specialty."""
    for concept in request.reasonCode or []:
        for coding in concept.coding or []:
            if coding.system == REASON_SYSTEM and coding.code:
                return coding.code
    return "other"


def _reason_text(request):
    """What the clinic wrote: each reason's text (or the display of a code from another system), then the notes."""
    parts = []
    for concept in request.reasonCode or []:
        shown = concept.text or next(
            (coding.display for coding in concept.coding or [] if coding.system != REASON_SYSTEM and coding.display),
            "",
        )
        parts.append(shown)
    parts += [note.text for note in request.note or []]
    return "\n".join(part.strip() for part in parts if part and part.strip())


def _consent(request):
    """The clinic's attestation, ``valueBoolean`` of the consent extension; None when it is absent."""
    for extension in request.extension or []:
        if extension.url == CONSENT_EXTENSION_URL:
            return extension.valueBoolean
    return None


def _requester(request, practitioner):
    """(NPI, name) of whoever the request names as requester: its Practitioner, or a bare NPI identifier."""
    identifiers = list(practitioner.identifier or []) if practitioner is not None else []
    requester = request.requester
    if requester is not None and requester.identifier is not None:
        identifiers.append(requester.identifier)
    npi = next((item.value for item in identifiers if item.system == NPI_SYSTEM and item.value), "")
    if npi and not npi_is_valid(npi):
        refuse(
            _("%(npi)s is not a valid NPI (10 digits with a check digit).") % {"npi": npi[:20]},
            expression="Practitioner.identifier",
            code="value",
            status_code=400,
        )
    name = ""
    if practitioner is not None and practitioner.name:
        first = practitioner.name[0]
        name = first.text or f"{_given(first)} {first.family or ''}".strip()
    if not name and requester is not None:
        name = requester.display or ""
    return npi, name[:160]


# --- out --------------------------------------------------------------------------------------------------


def service_request_of(referral):
    """The ServiceRequest a practice's system reads back: status, priority, who referred, and a contained Task.

    Uses the referral's practice, clinician, spa and its practice-visible events, all read by the caller."""
    return {
        "resourceType": "ServiceRequest",
        "id": str(referral.public_id),
        "contained": [_task(referral)],
        "extension": [{"url": CONSENT_EXTENSION_URL, "valueBoolean": referral.consent_to_contact}],
        "status": SERVICE_REQUEST_STATUS[referral.status],
        "intent": "order",
        "category": [REFERRAL_CATEGORY],
        "priority": URGENCY_TO_PRIORITY.get(referral.urgency, "routine"),
        "subject": {"display": _("The referred patient (details are not returned)")},
        "authoredOn": referral.received_at.isoformat(),
        "requester": _requester_of(referral),
        "performer": [{"display": referral.spa.name}],
    }


def _task(referral):
    status = Status(referral.status)
    changes = [event.created_at for event in referral.events.all() if event.kind in PRACTICE_TIMELINE_EVENTS]
    task = {
        "resourceType": "Task",
        "id": "status",
        "basedOn": [{"reference": "#"}],  # the ServiceRequest that contains it
        "status": TASK_STATUS[status],
        "businessStatus": {
            "coding": [{"system": STATUS_SYSTEM, "code": status.value, "display": str(status.label)}],
            "text": str(status.label),
        },
        "intent": "order",
        "authoredOn": referral.received_at.isoformat(),
        "owner": {"display": referral.spa.name},
    }
    if changes:
        task["lastModified"] = max(changes).isoformat()
    return task


def _requester_of(referral):
    clinician = referral.clinician
    if clinician is not None:
        requester = {"display": clinician.display_name}
        npi = clinician.npi
    else:
        requester = {"display": referral.practice.name}
        npi = referral.practice.npi
    if npi:
        requester["identifier"] = {"system": NPI_SYSTEM, "value": npi}
    return requester


def transaction_response(bundle, service_request):
    """The ``transaction-response`` Bundle: one entry per entry sent, in order. The ServiceRequest was created;
    the Patient and Practitioner live on with the referral, not as resources of their own."""
    location = f"ServiceRequest/{service_request['id']}"
    entries = []
    for entry in bundle.entry or []:
        if entry.resource.get_resource_type() == "ServiceRequest":
            entries.append({"resource": service_request, "response": {"status": "201 Created", "location": location}})
            continue
        kept = _("Kept with %(location)s; not a resource of its own on this server.") % {"location": location}
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": kept}],
        }
        entries.append({"response": {"status": "200 OK", "outcome": outcome}})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
