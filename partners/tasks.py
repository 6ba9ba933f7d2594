"""Celery tasks of the partners app: the module Celery autodiscovers.

The prospect import's tasks live beside their service (``prospecting/tasks.py``); importing them here registers
them with every worker.
"""

from .prospecting.tasks import prospect_import_task, prospect_imports_sweep_task  # noqa: F401
