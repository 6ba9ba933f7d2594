"""Deleting stored files once nothing points at them: after the transaction that let go of them has committed."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def delete_after_commit(files):
    """Delete each ``(storage, name)`` once the current transaction commits (at once outside one).

    A rollback keeps them, since the rows still point at them. A file that cannot be deleted is logged by name
    for an operator, and the others still go: local disk raises OSError, a bucket botocore's errors.
    """
    files = list(files)

    def delete():
        for storage, name in files:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - whatever the storage raises, the rest still go
                logger.error("Could not delete the stored file %s.", name, exc_info=True)

    if files:
        transaction.on_commit(delete)
