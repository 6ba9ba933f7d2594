"""Idempotency-Key for API creates: the first response to a key is stored and replayed for repeats.

The record is inserted *first*, in the same transaction as the create. Its unique constraint
(api key, idempotency key) makes a concurrent duplicate wait on the first transaction and then
fail; the duplicate then reads the committed record and replays it. If the first request fails
(invalid input, an error), its transaction rolls back the record too, so the key stays usable.
"""

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import IdempotencyRecord

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


class _AlreadyClaimed(Exception):
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


def _claim(api_key, key, request_hash):
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the failed insert
            return IdempotencyRecord.objects.create(
                spa=api_key.spa, api_key=api_key, key=key, request_hash=request_hash
            )
    except IntegrityError:
        raise _AlreadyClaimed from None


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
            record = _claim(api_key, key, request_hash)
            status, body = perform()
            record.response_status = status
            record.response_body = body
            record.save(update_fields=["response_status", "response_body"])
    except _AlreadyClaimed:
        # Another request with this key committed while we waited on its row: answer what it answered.
        record = _find(api_key, key)
        if record is None:  # deleted in between (expired): this request is the first again
            return idempotent_call(api_key=api_key, key=key, request_hash=request_hash, perform=perform)
        return _replay(record, request_hash)
    return IdempotentResponse(status=status, body=body, replayed=False)
