"""Fixtures of the platform tests: the outbox's SMTP server (the one thing outside the machine)."""

from unittest import mock

import pytest


@pytest.fixture
def smtp_class(settings):
    """Django's real SMTP backend talking to a fake ``smtplib.SMTP``: the one thing outside the machine.

    The class itself (one call per connection opened); ``smtp_class.return_value`` is the server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "smtp.example.com"
    settings.EMAIL_PORT = 587
    with mock.patch("smtplib.SMTP") as smtp:
        smtp.return_value.sendmail.return_value = {}
        yield smtp


@pytest.fixture
def smtp_server(smtp_class):
    return smtp_class.return_value
