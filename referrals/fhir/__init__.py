"""FHIR R4 for clinic systems (/fhir/r4/): a ``ServiceRequest`` posted by an EHR becomes a referral, and reading it
back says where it stands (its ``status`` and a contained ``Task``). ``wire.py`` is the HTTP shape (FHIR JSON in
and out, every error an ``OperationOutcome``), ``resources.py`` reads resources with the ``fhir.resources`` models
(R4B, wire-compatible with R4 for every resource used here), ``mapping.py`` translates between FHIR and referrals
(pure functions), ``capability.py`` is the ``CapabilityStatement``, ``services.py`` writes, ``apis.py`` holds
the DRF views and ``urls.py`` their addresses.

It is the REST API in another dialect, so it reuses that room's machinery rather than copying it: the API keys'
authentication, the per-key throttle, ``Idempotency-Key`` replay, the input serializer that holds the API's
rules for a referral and the read of one of the key's practice's referrals (``referrals.api``). It may import
that, the referral core (``referrals.models``, ``referrals.services``) and the lower apps; nothing imports it but
the project's URLs.
"""
