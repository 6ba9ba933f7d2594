"""The probe's header finding: no Permissions-Policy. Every response denies camera, microphone, geolocation,
payment and USB, static files and error pages included."""

import pytest
from django.test import Client

EXPECTED = {"camera=()", "geolocation=()", "microphone=()", "payment=()", "usb=()"}


def _policy(response):
    return {part.strip() for part in response["Permissions-Policy"].split(",")}


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",  # a page
        "/static/css/app.css",  # a static file (WhiteNoise answers before the view middleware)
        "/no-such-page/",  # the 404 page
        "/api/v1/referrals/",  # the API (401)
        "/healthz",
        "/r/NOPE99",  # the landing page's unknown code
    ],
)
def test_every_response_denies_powerful_features(db, path):
    response = Client().get(path)

    assert _policy(response) >= EXPECTED, path


def test_signed_in_pages_carry_it_too(owner_client, spa):
    response = owner_client.get(f"/s/{spa.slug}/")

    assert response.status_code == 200
    assert _policy(response) >= EXPECTED
