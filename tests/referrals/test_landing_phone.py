"""Issue 21 §13: the patient landing page on a phone — the error summary, the first screen's ways to get in
touch, autocomplete, the unknown-code page's box, link contrast, and the page's weight as served."""

import gzip
import re
from urllib.parse import urljoin

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from referrals.intake.submissions import submission_token_new
from referrals.models import Referral

from ..factories import OfferFactory, ReferralCodeFactory, ServiceFactory

PATIENT_IP = "203.0.113.9"
LANDING_BUDGET_BYTES = 60 * 1024


@pytest.fixture
def landing_spa(spa):
    spa.phone = "(617) 555-0100"
    spa.save(update_fields=["phone"])
    return spa


@pytest.fixture
def code(landing_spa, practice_a):
    ServiceFactory(spa=landing_spa, name="Calming post-peel facial", specialties=["dermatology"])
    OfferFactory(spa=landing_spa, title="20% off your first facial", terms="First visit only.")
    with scope(spa=landing_spa):
        return ReferralCodeFactory(spa=landing_spa, practice=practice_a, code="KM7QXZ").code


def landing_url(value="KM7QXZ"):
    return reverse("public:landing", args=[value])


def get(client, url):
    return client.get(url, REMOTE_ADDR=PATIENT_IP)


def text_of(response):
    return response.content.decode()


def failed_submit(client):
    return client.post(
        landing_url(),
        {
            "patient_first_name": "",
            "patient_last_name": "Lopez",
            "patient_phone": "",
            "patient_email": "",
            "preferred_contact_method": "phone",
            "homepage": "",
            "submission_token": submission_token_new(),
        },
        REMOTE_ADDR=PATIENT_IP,
    )


# --- the error summary -----------------------------------------------------------------------------------


def test_a_failed_submit_opens_with_an_error_summary_at_the_top_of_the_form(client, code):
    response = failed_submit(client)

    assert response.status_code == 400
    text = text_of(response)
    form = re.search(r'<form method="post"[^>]*class="landing-form".*?</form>', text, re.S).group(0)
    summary = re.search(r'<div class="alert alert-danger error-summary" role="alert".*?</div>', form, re.S)
    assert summary is not None
    # The summary comes before the first field, so it is what the patient sees first.
    assert form.index("error-summary") < form.index('id="id_patient_first_name"')
    for target in ("id_patient_first_name", "id_consent_to_contact"):
        assert f'href="#{target}"' in summary.group(0)
    with scopes_disabled():
        assert not Referral.objects.exists()


def test_the_landing_page_loads_the_script_that_focuses_the_summary(client, code):
    text = text_of(failed_submit(client))

    scripts = re.findall(r'<script[^>]*src="([^"]+)"', text)
    assert scripts == ["/static/js/public.js"]
    script = b"".join(get(client, scripts[0]).streaming_content).decode()
    assert ".error-summary" in script
    assert ".focus(" in script


# --- the first screen ------------------------------------------------------------------------------------


def test_the_first_screen_offers_ask_us_to_contact_you_and_the_spas_phone(client, code):
    text = text_of(get(client, landing_url()))

    actions = re.search(r'id="landing-actions">(.*?)</div>', text, re.S).group(1)
    assert re.search(r'href="#landing-form"[^>]*>.*Ask us to contact you', actions, re.S)
    assert 'href="tel:+1-617-555-0100"' in actions
    # Before the offer and the services: on the first screen, not below them.
    assert text.index('id="landing-actions"') < text.index("20% off your first facial")
    assert text.index('id="landing-actions"') < text.index('id="landing-services"')
    assert 'id="landing-form"' in text


def test_the_referral_phone_is_preferred_when_the_spa_has_one(client, landing_spa, code):
    landing_spa.referral_phone = "(617) 555-0177"
    landing_spa.save(update_fields=["referral_phone"])

    actions = re.search(r'id="landing-actions">(.*?)</div>', text_of(get(client, landing_url())), re.S).group(1)

    assert 'href="tel:+1-617-555-0177"' in actions


def test_names_and_email_carry_autocomplete(client, code):
    text = text_of(get(client, landing_url()))

    def attributes(field):
        return re.search(rf'<input[^>]*id="id_{field}"[^>]*>', text).group(0)

    assert 'autocomplete="given-name"' in attributes("patient_first_name")
    assert 'autocomplete="family-name"' in attributes("patient_last_name")
    assert 'autocomplete="email"' in attributes("patient_email")


# --- weight ----------------------------------------------------------------------------------------------


def _fetch(client, url):
    response = client.get(url, REMOTE_ADDR=PATIENT_IP)
    assert response.status_code == 200, url
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _references(page_html):
    """Stylesheets, scripts and icons a browser fetches for this page (images of the spa's own logo aside)."""
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page_html)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page_html)
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', page_html)
    return stylesheets, scripts, icons


def page_weight(client, url):
    """{url: gzip-compressed bytes} for the page's HTML and every CSS, JS and font it references."""
    page_html = _fetch(client, url)
    sizes = {url: len(gzip.compress(page_html, 9))}
    stylesheets, scripts, icons = _references(page_html.decode())
    for asset in [*stylesheets, *scripts, *icons]:
        body = _fetch(client, asset)
        sizes[asset] = len(gzip.compress(body, 9))
        if asset in stylesheets:
            for reference in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", body.decode()):
                if reference.startswith("data:"):
                    continue
                font_url = urljoin(asset, reference.split("?")[0].split("#")[0])
                sizes[font_url] = len(gzip.compress(_fetch(client, font_url), 9))
    return sizes


def test_the_landing_page_weighs_at_most_60_kib_compressed(code):
    client = Client()
    sizes = page_weight(client, landing_url())

    total = sum(sizes.values())
    assert total <= LANDING_BUDGET_BYTES, f"{total / 1024:.1f} KiB: " + ", ".join(
        f"{url} {size / 1024:.1f} KiB" for url, size in sorted(sizes.items(), key=lambda item: -item[1])
    )
    assert not any("bootstrap-icons" in url or url.endswith((".woff", ".woff2")) for url in sizes)
    assert not any("bootstrap.bundle" in url for url in sizes)


@pytest.mark.parametrize("page", ["landing", "thanks", "not_found", "lookup_box"])
def test_public_pages_use_inline_svg_icons_and_no_icon_font_or_bootstrap_script(client, code, page):
    url = {
        "landing": landing_url(),
        "thanks": reverse("public:landing_thanks", args=["KM7QXZ"]),
        "not_found": landing_url("NOPE22"),
        "lookup_box": reverse("public:landing_code") + "?code=",
    }[page]

    text = text_of(client.get(url, REMOTE_ADDR=PATIENT_IP))

    assert "bootstrap-icons" not in text
    assert "bootstrap.bundle" not in text
    assert 'class="bi ' not in text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in text


# --- link contrast ---------------------------------------------------------------------------------------


def _luminance(hex_colour):
    channels = [int(hex_colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground, background):
    lighter, darker = sorted([_luminance(foreground), _luminance(background)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_landing_links_pass_wcag_aa_on_the_pages_grey(client):
    assert contrast("#0d6efd", "#f8f9fa") < 4.5  # Bootstrap's default link colour: the known axe failure
    css = b"".join(client.get("/static/css/public.css").streaming_content).decode()
    rule = re.search(r"\.landing \{([^}]*)\}", css).group(1)
    link = re.search(r"--bs-link-color: (#[0-9a-fA-F]{6})", rule).group(1)
    hover = re.search(r"--bs-link-hover-color: (#[0-9a-fA-F]{6})", rule).group(1)
    for colour in (link, hover):
        assert contrast(colour, "#f8f9fa") >= 4.5
        assert contrast(colour, "#ffffff") >= 4.5


# --- the unknown-code page -------------------------------------------------------------------------------


def test_the_unknown_code_page_offers_a_box_to_type_the_code(client, code):
    response = get(client, landing_url("NOPE22"))

    assert response.status_code == 404
    text = text_of(response)
    assert f'action="{reverse("public:landing_code")}"' in text
    assert 'name="code"' in text


@pytest.mark.parametrize("typed", ["km7qxz", " KM7 QXZ ", "km7-qxz"])
def test_a_typed_code_goes_to_its_landing_page(client, code, typed):
    response = client.get(reverse("public:landing_code"), {"code": typed}, REMOTE_ADDR=PATIENT_IP)

    assert response.status_code == 302
    assert response["Location"] == landing_url("KM7QXZ")
    assert get(client, response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Type the code printed on your referral card."), ("<script>", "use only letters and digits")],
)
def test_an_empty_or_impossible_code_is_explained_beside_the_box(client, code, typed, message):
    response = client.get(reverse("public:landing_code"), {"code": typed}, REMOTE_ADDR=PATIENT_IP)

    assert response.status_code == 404
    text = text_of(response)
    assert message in text
    assert 'class="alert alert-danger error-summary" role="alert"' in text
    assert "<script>" not in text.split("<body", 1)[1].replace('<script src="/static/js/public.js" defer></script>', "")


def test_typing_codes_is_throttled_by_the_landing_lookup_limit(client, code, settings):
    settings.LANDING_LOOKUPS_PER_MINUTE = 3
    settings.LANDING_UNKNOWN_CODE_WEIGHT = 1
    for _attempt in range(3):
        get(client, landing_url("NOPE22"))

    response = client.get(reverse("public:landing_code"), {"code": "KM7QXZ"}, REMOTE_ADDR=PATIENT_IP)

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    # Another client is not affected.
    other = client.get(reverse("public:landing_code"), {"code": "KM7QXZ"}, REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 302
