"""Idempotency-Key for API creates: the first response to a key is stored and replayed for repeats.

A repeat of a finished request finds the record and replays it. Otherwise the create runs and its
response is inserted as the record *last*, in the create's transaction (one statement, no savepoint).
The unique constraint (api key, idempotency key) settles a race: a concurrent duplicate's insert waits
on the first transaction and, once that commits, fails; the duplicate's whole transaction (its
referral included) rolls back and it replays the committed record. If a request fails (invalid input,
an error), nothing of it is committed, so the key stays usable.

``idempotent_request`` and ``idempotent_response`` are the HTTP side, shared by every create of the practices' APIs
(the REST API and FHIR): the header read and checked, its refusals raised as the REST API's errors (which the FHIR
views' exception handler rewords as an OperationOutcome), a replay marked with ``Idempotent-Replayed``.
"""

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from ..models import IdempotencyRecord
from .errors import IdempotencyKeyReused, RequestHeaderInvalid

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResponse:
    status: int
    body: dict
    replayed: bool


class IdempotencyKeyMismatch(Exception):
    """The key was used before with a different request."""


class IdempotencyKeyInvalid(ValueError):
    pass


def idempotency_key_check(value):
    """The key as sent, or IdempotencyKeyInvalid with a message saying what is wrong with it."""
    if not value or len(value) > KEY_MAX_LENGTH or not value.isascii() or not value.isprintable():
        raise IdempotencyKeyInvalid(
            _("Use 1 to %(max)d printable ASCII characters, for example a UUID.") % {"max": KEY_MAX_LENGTH}
        )
    return value


def request_fingerprint(*, method, path, data):
    """SHA-256 of the request's meaning: the same JSON written differently gives the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))  # ASCII: lone surrogates stay hashable
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _replay(record, request_hash):
    if record.request_hash != request_hash:
        raise IdempotencyKeyMismatch
    return IdempotentResponse(status=record.response_status, body=record.response_body, replayed=True)


def _find(api_key, key):
    return IdempotencyRecord.objects.filter(spa=api_key.spa, api_key=api_key, key=key).first()


def idempotent_call(*, api_key, key, request_hash, perform):
    """Run ``perform() -> (status, body)`` once per (api_key, key); repeats get the stored response.

    Raises IdempotencyKeyMismatch when the key was used with a different request. Exceptions from
    ``perform`` propagate and leave no record behind.
    """
    record = _find(api_key, key)
    if record is not None:
        return _replay(record, request_hash)
    try:
        with transaction.atomic():
            status, body = perform()
            IdempotencyRecord.objects.create(
                spa=api_key.spa,
                api_key=api_key,
                key=key,
                request_hash=request_hash,
                response_status=status,
                response_body=body,
            )
    except IntegrityError:
        # Another request with this key committed first; this one's create is rolled back with it.
        record = _find(api_key, key)
        if record is None:  # not a duplicate key after all (or the record expired in between)
            raise
        return _replay(record, request_hash)
    return IdempotentResponse(status=status, body=body, replayed=False)


def idempotent_request(request, perform):
    """``perform() -> (status, body)`` once per Idempotency-Key of the request's API key, or each time when the
    header is absent: an IdempotentResponse. A malformed key raises RequestHeaderInvalid (400), a key used
    before with another body IdempotencyKeyReused (422)."""
    raw_key = request.headers.get(IDEMPOTENCY_HEADER)
    if raw_key is None:
        return IdempotentResponse(*perform(), replayed=False)
    try:
        key = idempotency_key_check(raw_key)
    except IdempotencyKeyInvalid as error:
        raise RequestHeaderInvalid(IDEMPOTENCY_HEADER, str(error)) from None
    try:
        return idempotent_call(
            api_key=request.auth,
            key=key,
            request_hash=request_fingerprint(method=request.method, path=request.path, data=request.data),
            perform=perform,
        )
    except IdempotencyKeyMismatch:
        raise IdempotencyKeyReused from None


def idempotent_response(result, *, location=None):
    """The response for an IdempotentResponse: its status and body, ``Location`` when given, and
    ``Idempotent-Replayed: true`` when it is a replay."""
    headers = {"Location": location} if location else {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(result.body, status=result.status, headers=headers)
