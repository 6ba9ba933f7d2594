"""FHIR R4 (/fhir/r4/…): the CapabilityStatement, ServiceRequest create and read, and transactions at the base."""

from django.urls import path, re_path

from . import apis
from .wire import fhir_not_found

app_name = "fhir"

urlpatterns = [
    path("", apis.TransactionWithSlashApi.as_view(), name="transaction"),
    path("metadata", apis.MetadataApi.as_view(), name="metadata"),
    path("ServiceRequest", apis.ServiceRequestCreateApi.as_view(), name="service_request_create"),
    path("ServiceRequest/<uuid:referral_id>", apis.ServiceRequestReadApi.as_view(), name="service_request_read"),
    # Anything else under /fhir/r4/ (another resource type, an id that is not one of ours): an OperationOutcome 404.
    re_path(r"^[\s\S]*$", fhir_not_found, name="not_found"),
]
