"""An outbox row's text in a test: the worker renders a row when it sends it (infra.outbox), so a test that reads
an email before any drain ran renders it the same way first, without saving anything."""

from infra.outbox import email_render


def rendered(email):
    """``email`` with the subject and bodies the worker would send (a row rendered already comes back as it is)."""
    return email_render(email)
