"""Reading FHIR resources with a maintained model library, and finding what a ServiceRequest points at.

``fhir.resources`` (8.x) ships FHIR R5 as its default package and R4B under ``fhir.resources.R4B``; R4B changed
none of ServiceRequest, Patient, Practitioner, Bundle, Task, OperationOutcome or CapabilityStatement from R4
(4.0.1), so its models read and check what an R4 client sends. The library checks structure, cardinality and
primitive formats (a date is a date, an unknown element is refused); what makes a resource a referral this
server can take (an active request, a patient it can reach, the patient's agreement) is mapping.py's business.
"""

from dataclasses import dataclass

import pydantic
from django.utils.translation import gettext as _
from fhir.resources.R4B import get_fhir_model_class

from .wire import FhirError, Issue, refuse

# pydantic's error types, as FHIR IssueTypes.
MISSING_ERRORS = {"missing", "model_field_validation.missing"}
UNKNOWN_ELEMENT_ERRORS = {"extra_forbidden"}
BUNDLE_ENTRY_TYPES = {"Patient", "Practitioner", "ServiceRequest"}


def read_resource(data, *, expected):
    """``data`` (parsed JSON) as a library model of one of the ``expected`` resource types, or a FhirError (400)
    whose issues name each element the library refused."""
    resource_type = data.get("resourceType") if isinstance(data, dict) else None
    if resource_type not in expected:
        refuse(
            _("Send a %(expected)s resource (a JSON object whose resourceType is %(expected)s).")
            % {"expected": _(" or ").join(expected)},
            expression="resourceType",
            code="invalid",
            status_code=400,
        )
    model = get_fhir_model_class(resource_type)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise FhirError(_issues_of(error, resource_type)) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        # The library raises these (not a ValidationError) for some shapes it cannot start to read: a contained
        # or entry resource whose resourceType is unknown or not a string, or a document nested too deeply.
        refuse(
            _("The %(type)s could not be read as FHIR R4: check the resourceType of every contained resource.")
            % {"type": resource_type},
            expression=resource_type,
            code="structure",
            status_code=400,
        )


def _issues_of(error, resource_type):
    issues = []
    for problem in error.errors(include_input=False, include_url=False):
        kind = problem.get("type", "")
        if kind in MISSING_ERRORS:
            code = "required"
        elif kind in UNKNOWN_ELEMENT_ERRORS:
            code = "structure"
        else:
            code = "value"
        issues.append(Issue(code=code, diagnostics=problem.get("msg", ""), expression=_path(resource_type, problem)))
    return issues or [Issue(code="invalid", diagnostics=str(error))]


def _path(resource_type, problem):
    """pydantic's ``loc`` (``("contained", 0, "birthDate")``) as FHIRPath: ``ServiceRequest.contained[0].birthDate``."""
    path = resource_type
    for part in problem.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


@dataclass(frozen=True)
class Referred:
    """A ServiceRequest with the Patient its ``subject`` points at and the Practitioner its ``requester`` points at
    (None when it names none, names an Organization, or points outside what was sent)."""

    service_request: object
    patient: object
    practitioner: object


def resolve_contained(service_request):
    """The Patient and Practitioner a ServiceRequest points at among its ``contained`` resources (``#p1``)."""
    contained = {f"#{resource.id}": resource for resource in service_request.contained or [] if resource.id}
    return _resolve(service_request, contained, local="#")


def resolve_transaction(bundle):
    """The one ServiceRequest of a transaction Bundle, with the Patient and Practitioner it points at (by an
    entry's ``fullUrl``, ``urn:uuid:…``, or by ``Patient/<id>``)."""
    if bundle.type != "transaction":
        refuse(_("Send a Bundle of type “transaction”."), expression="Bundle.type", code="not-supported")
    entries = {}
    requests = []
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        where = f"Bundle.entry[{index}]"
        if resource is None or resource.get_resource_type() not in BUNDLE_ENTRY_TYPES:
            refuse(
                _("Each entry holds a Patient, a Practitioner or the ServiceRequest, and nothing else."),
                expression=f"{where}.resource",
                code="not-supported",
            )
        if entry.request is not None and entry.request.method != "POST":
            refuse(_("Entries are created (POST); nothing is updated or deleted here."), expression=f"{where}.request")
        if entry.fullUrl:
            entries[entry.fullUrl] = resource
        if resource.id:
            entries[f"{resource.get_resource_type()}/{resource.id}"] = resource
        if resource.get_resource_type() == "ServiceRequest":
            requests.append(resource)
    if len(requests) != 1:
        refuse(_("Send exactly one ServiceRequest in the Bundle."), expression="Bundle.entry")
    return _resolve(requests[0], entries, local="")


def _resolve(service_request, resources, *, local):
    """Follow ``subject`` and ``requester`` into ``resources`` (by reference). A subject must be a Patient that was
    sent; a requester may be absent, an NPI identifier alone, or a reference this server cannot follow."""
    # The library lets a required complex element through as null ("subject": null): look before following it.
    subject = (service_request.subject.reference if service_request.subject is not None else None) or ""
    patient = resources.get(subject)
    if patient is None or patient.get_resource_type() != "Patient":
        refuse(
            _(
                "The subject must point at the Patient sent with the request: a contained Patient (“#p1”) or, in a "
                "transaction Bundle, the Patient entry's fullUrl."
            ),
            expression="ServiceRequest.subject",
        )
    practitioner = None
    requester = service_request.requester
    if requester is not None and requester.reference:
        practitioner = resources.get(requester.reference)
        if practitioner is None and local and requester.reference.startswith(local):
            refuse(
                _("The requester points at a contained resource that is not there."),
                expression="ServiceRequest.requester",
                code="invalid",
                status_code=400,
            )
        if practitioner is not None and practitioner.get_resource_type() != "Practitioner":
            practitioner = None  # an Organization or PractitionerRole: the practice itself
    return Referred(service_request=service_request, patient=patient, practitioner=practitioner)
