"""The tenant matrix: every route × every method × every kind of outsider, with foreign ids in addresses,
bodies and filters. Nothing of another tenant is shown, nothing is created or changed, and "not yours"
answers byte for byte like "does not exist".

Actors: anonymous; the owner of another spa; clinic staff (portal users) of the home spa's practice, of its
sibling practice and of another spa's practice; the home spa's staff (lowest role) and owner; for the API:
no key, a never-issued key, a revoked key, another spa's key and the sibling practice's key. The world is
built once per module (matrix_world.py); the checks are in matrix_checks.py and matrix_forms.py.
"""

import json

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django_scopes import scopes_disabled

from referrals.models import Referral
from tests.referrals.inbound_helpers import set_up_inbound

from .matrix_checks import (
    EXCLUDED,
    METHODS,
    all_routes,
    changes,
    cross_tenant_references,
    describe,
    fingerprint,
    identifiers_of,
    leaked,
    new_report,
    role_above_staff,
    rolled_back,
    routes_of,
    rows_mentioning,
    same_answer,
    send,
    walk_api_unauthorised,
    walk_denied,
    walk_foreign_ids,
)
from .matrix_forms import filled, forms_on, inject_foreign_ids, translation_between
from .matrix_world import FOREIGN_MARK, SIBLING_PATIENT, build_world


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("matrix-media")


@pytest.fixture(autouse=True)
def _matrix_media(_clean_cache_and_media, settings, media_root):
    """The world's sample files live in one folder for the whole module (conftest gives each test its own)."""
    settings.MEDIA_ROOT = media_root


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, media_root):
    """Built once per module (and xdist worker) inside a transaction that is rolled back at the end;
    each test runs in a savepoint inside it, so what one test writes never reaches the next."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(MEDIA_ROOT=media_root):
                built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


def api_client(world, key):
    raw = {"none": None, "never-issued": "sk_" + "x" * 43}.get(key, world.keys.get(key))
    return Client(headers={"Authorization": f"Bearer {raw}"} if raw else None, raise_request_exception=False)


def test_every_route_is_in_the_matrix():
    unknown = [route.route for route in all_routes() if route.kind is None]
    assert unknown == [], "classify these routes in tests/security/matrix_checks.py (KINDS or EXCLUDED)"
    assert len(routes_of("workspace")) > 100 and len(routes_of("portal")) >= 7 and len(routes_of("api")) >= 5
    assert len(routes_of("fhir")) == 6  # the base twice (with and without its slash), metadata, create, read, the rest
    assert set(EXCLUDED) == {"accounts/", "admin/"}


# --- the workspace /s/<spa_slug>/… ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_on_every_workspace_url(world, db):
    report = walk_denied(
        new_report(),
        routes=routes_of("workspace"),
        client=world.client("anonymous"),
        actor="anonymous",
        values=world.home_values,
        expect="login",
        secrets=world.home_secrets(),
    )
    assert report.failures == []


@pytest.mark.parametrize("actor", ["foreign_owner", "portal_home"])
def test_non_members_get_the_missing_spa_404_on_every_workspace_url(world, db, actor):
    report = walk_denied(
        new_report(),
        routes=routes_of("workspace"),
        client=world.client(actor),
        actor=actor,
        values=world.home_values,
        expect="same-as-missing-spa",
        secrets=world.home_secrets(),
    )
    assert report.failures == []


def test_staff_get_403_on_every_manager_and_owner_url(world, db):
    routes = [route for route in routes_of("workspace") if role_above_staff(route)]
    assert len(routes) > 30
    report = walk_denied(
        new_report(),
        routes=routes,
        client=world.client("staff"),
        actor="staff",
        values=world.home_values,
        expect="forbidden",
    )
    assert report.failures == []


@pytest.mark.parametrize("actor", ["owner", "staff"])
def test_other_spas_ids_in_workspace_urls_answer_like_missing_ones(world, db, actor):
    report = walk_foreign_ids(
        new_report(),
        routes=routes_of("workspace"),
        client=world.client(actor),
        actor=actor,
        own=world.home_values,
        foreign=world.foreign_values,
        missing_id=world.missing_id,
        secrets=world.foreign_secrets(),
    )
    assert len(report.visited) > 400
    assert report.failures == []


def test_every_workspace_url_really_answers_its_own_owner(world, db):
    """With the spa's own ids each page is there (so the 404s above are about the ids), and no server error."""
    owner = world.client("owner")
    body = {"access": world.extras["home"]["portal_access"], "invitation": world.extras["home"]["portal_invitation"]}
    problems = []
    for route in routes_of("workspace"):
        path = route.path(world.home_values)
        answers = {}
        for method in ("get", "post"):
            with rolled_back():
                answers[method] = send(owner, method, path, body if method == "post" else None)
            if answers[method].status_code >= 500:
                problems.append(f"{method.upper()} {path} → {answers[method].status_code}")
        if answers and all(answer.status_code == 404 for answer in answers.values()):
            problems.append(f"{path} answers its own owner 404")
    assert problems == []


def test_the_cadence_form_of_a_practice_that_is_not_active_says_so_without_a_server_error(world, db):
    """Found by the matrix: the form used to add an error to an unbound form (a 500)."""
    path = f"/s/{world.home.slug}/outreach/health/practices/{world.home_values['practice_id']}/cadence/"
    response = world.client("owner").get(path)
    assert response.status_code == 200
    assert "Check-ins are scheduled for active partners only." in response.content.decode()


# --- the partner portal /portal/<spa_slug>/… ---------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_on_every_portal_url(world, db):
    report = walk_denied(
        new_report(),
        routes=routes_of("portal"),
        client=world.client("anonymous"),
        actor="anonymous",
        values=world.home_values,
        expect="login",
        secrets=world.home_secrets(),
    )
    assert report.failures == []


@pytest.mark.parametrize("actor", ["foreign_owner", "owner", "staff", "foreign_portal"])
def test_people_without_portal_access_get_the_missing_portal_404(world, db, actor):
    report = walk_denied(
        new_report(),
        routes=routes_of("portal"),
        client=world.client(actor),
        actor=actor,
        values=world.home_values,
        expect="same-as-missing-spa",
        secrets=world.home_practice_secrets(),
    )
    assert report.failures == []


def test_clinic_staff_of_another_practice_get_404_for_this_practices_referrals_and_reports(world, db):
    own = {**world.home_values, "referral_id": world.sibling_values["referral_id"], "report_id": world.missing_id}
    report = walk_foreign_ids(
        new_report(),
        routes=routes_of("portal"),
        client=world.client("portal_sibling"),
        actor="portal_sibling",
        own=own,
        foreign=world.home_values,
        missing_id=world.missing_id,
        secrets=world.home_practice_secrets(),
    )
    assert report.visited
    assert report.failures == []


def test_clinic_staff_get_404_for_another_spas_referrals_and_reports(world, db):
    report = walk_foreign_ids(
        new_report(),
        routes=routes_of("portal"),
        client=world.client("portal_home"),
        actor="portal_home",
        own=world.home_values,
        foreign=world.foreign_values,
        missing_id=world.missing_id,
        secrets=world.foreign_secrets(),
    )
    assert report.visited
    assert report.failures == []


def test_every_portal_page_shows_clinic_staff_only_their_own_practice(world, db):
    sibling, home = world.client("portal_sibling"), world.client("portal_home")
    problems = []
    for route in routes_of("portal"):
        for client, values, secrets in (
            (sibling, {**world.home_values, **world.sibling_values}, world.home_practice_secrets()),
            (home, world.home_values, [SIBLING_PATIENT, "Matrix Sibling Physio", *world.foreign_secrets()]),
        ):
            response = client.get(route.path(values))
            if response.status_code >= 500 or leaked(response, secrets):
                problems.append(f"GET {route.path(values)} → {response.status_code}, shows {leaked(response, secrets)}")
    # The home practice's own pages are there: the 404s above are about the ids.
    for name in ("referral", "outcome", "outcome_pdf", "home", "outcomes"):
        route = next(route for route in routes_of("portal") if route.name == name)
        assert home.get(route.path(world.home_values)).status_code == 200, route.route
    assert problems == []


# --- the REST API /api/… ------------------------------------------------------------------------------------

API_V1 = "api/v1/"


def _api_v1_routes():
    return [route for route in routes_of("api") if route.route.startswith(API_V1)]


@pytest.mark.parametrize("key", ["none", "never-issued", "revoked"])
def test_the_api_refuses_every_method_without_a_valid_key(world, db, key):
    report = walk_api_unauthorised(
        new_report(),
        routes=_api_v1_routes(),
        client=api_client(world, key),
        key_label=key,
        reference=api_client(world, "never-issued") if key == "revoked" else None,
        values=world.home_values,
    )
    assert len(report.visited) == 5 * len(_api_v1_routes())
    assert report.failures == []


@pytest.mark.parametrize("key", ["foreign", "sibling"])
def test_another_practices_key_gets_404_for_this_practices_referral(world, db, key):
    report = walk_foreign_ids(
        new_report(),
        routes=_api_v1_routes(),
        client=api_client(world, key),
        actor=f"{key} key",
        own={},
        foreign=world.home_values,
        missing_id=world.missing_id,
        secrets=world.home_practice_secrets(),
    )
    assert report.visited
    assert report.failures == []
    detail = f"/api/v1/referrals/{world.home_values['referral_id']}/"
    assert api_client(world, "home").get(detail).status_code == 200  # the key's own practice reads it


def test_the_service_list_shows_only_the_keys_spa(world, db):
    home_services = api_client(world, "home").get("/api/v1/services/").json()
    foreign_services = api_client(world, "foreign").get("/api/v1/services/").json()
    assert home_services and foreign_services
    home_ids, foreign_ids = identifiers_of(world.home), identifiers_of(world.foreign)
    assert {service["id"] for service in home_services} <= home_ids
    assert {service["id"] for service in foreign_services} <= foreign_ids


def _referral_body(**extra):
    return {
        "patient_first_name": "Matrix",
        "patient_last_name": "Probe",
        "patient_phone": "617-555-0100",
        "patient_consented_to_contact": True,
        **extra,
    }


def _home_clinician(world):
    return str(world.home_values["clinician_id"])


API_BODY_CASES = {
    # key, body: another practice's clinician, another spa's service or clinician.
    "the home practice's clinician with the sibling practice's key": (
        "sibling",
        lambda world: _referral_body(clinician=_home_clinician(world)),
    ),
    "another spa's clinician": (
        "home",
        lambda world: _referral_body(clinician=str(world.foreign_values["clinician_id"])),
    ),
    "another spa's service": ("home", lambda world: _referral_body(services=[str(world.foreign_values["item_id"])])),
    "the home spa's service with another spa's key": (
        "foreign",
        lambda world: _referral_body(services=[str(world.home_values["item_id"])]),
    ),
}


@pytest.mark.parametrize("case", API_BODY_CASES)
def test_api_bodies_with_foreign_ids_create_nothing(world, db, case):
    key, body = API_BODY_CASES[case]
    client = api_client(world, key)
    before = fingerprint()
    response = client.post("/api/v1/referrals/", json.dumps(body(world)), content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) <= {"clinician", "services", "services[0]"}
    assert changes(before, fingerprint()) == []
    # The same body without the foreign id is accepted: the 400 is about the id.
    clean = {name: value for name, value in body(world).items() if name not in ("clinician", "services")}
    with rolled_back():
        assert client.post("/api/v1/referrals/", json.dumps(clean), content_type="application/json").status_code == 201


def test_the_api_schema_and_docs_are_the_same_for_everyone_and_name_no_tenant(world, db):
    for path in ("/api/schema/", "/api/docs/", FHIR_METADATA):
        answers = [send(client, "get", path) for client in (Client(), api_client(world, "home"), world.client("owner"))]
        assert all(answer.status_code == 200 for answer in answers)
        if path != "/api/docs/":  # (the docs page carries a per-response nonce)
            assert answers[0].content == answers[1].content == answers[2].content
        for answer in answers:
            assert leaked(answer, world.home_practice_secrets() + [FOREIGN_MARK, world.foreign.name]) == []


# --- FHIR R4 /fhir/r4/… -------------------------------------------------------------------------------------

FHIR = "application/fhir+json"
FHIR_METADATA = "/fhir/r4/metadata"
FHIR_PUBLIC = {"metadata", "not_found"}  # the CapabilityStatement, and the OperationOutcome 404 for any other address


def _fhir_keyed_routes():
    return [route for route in routes_of("fhir") if route.name not in FHIR_PUBLIC]


def _fhir_service_request(npi):
    return {
        "resourceType": "ServiceRequest",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "p1",
                "name": [{"family": "Probe", "given": ["Matrix"]}],
                "telecom": [{"system": "phone", "value": "617-555-0100"}],
            }
        ],
        "extension": [{"url": "urn:spa-referrals:fhir:patient-consented-to-contact", "valueBoolean": True}],
        "status": "active",
        "intent": "order",
        "subject": {"reference": "#p1"},
        "requester": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}},
    }


@pytest.mark.parametrize("key", ["none", "never-issued", "revoked"])
def test_fhir_refuses_every_method_without_a_valid_key(world, db, key):
    routes = _fhir_keyed_routes()
    report = walk_api_unauthorised(
        new_report(),
        routes=routes,
        client=api_client(world, key),
        key_label=key,
        reference=api_client(world, "never-issued") if key == "revoked" else None,
        values=world.home_values,
        content_type=FHIR,
    )
    assert len(routes) == 4 and len(report.visited) == 5 * len(routes)
    assert report.failures == []


@pytest.mark.parametrize("key", ["foreign", "sibling"])
def test_another_practices_key_gets_the_fhir_not_found_for_this_practices_referral(world, db, key):
    report = walk_foreign_ids(
        new_report(),
        routes=routes_of("fhir"),
        client=api_client(world, key),
        actor=f"{key} key",
        own={},
        foreign=world.home_values,
        missing_id=world.missing_id,
        secrets=world.home_practice_secrets(),
    )
    assert len(report.visited) == len(METHODS)  # the read: its one id, every method
    assert report.failures == []
    read = f"/fhir/r4/ServiceRequest/{world.home_values['referral_id']}"
    assert api_client(world, "home").get(read).status_code == 200  # the key's own practice reads it


@pytest.mark.parametrize("key", ["foreign", "sibling"])
def test_a_fhir_referral_naming_another_practices_clinician_is_not_credited_to_them(world, db, key):
    from partners.models import Clinician

    with scopes_disabled():
        Clinician.objects.filter(public_id=world.home_values["clinician_id"]).update(npi="1234567893")
    client = api_client(world, key)

    response = client.post(
        "/fhir/r4/ServiceRequest", json.dumps(_fhir_service_request("1234567893")), content_type=FHIR
    )

    assert response.status_code == 201, response.content
    with scopes_disabled():
        referral = Referral.objects.select_related("spa", "practice").get(public_id=response.json()["id"])
    assert referral.clinician_id is None
    assert referral.spa == (world.foreign if key == "foreign" else world.home)
    assert referral.practice.name != "Walk Sample Dermatology"
    assert leaked(response, world.home_practice_secrets()) == []
    assert cross_tenant_references() == []


def test_any_other_fhir_address_is_the_same_outcome_404_for_everyone(world, db):
    answers = [
        send(client, method, "/fhir/r4/Patient/" + str(world.home_values["referral_id"]))
        for client in (Client(), api_client(world, "home"), api_client(world, "foreign"))
        for method in METHODS
    ]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.content for answer in answers}) == 1
    assert answers[0].json()["resourceType"] == "OperationOutcome"


# --- public pages, pages without a spa in the address, the admin ---------------------------------------------


def _public_values(world, tenant):
    extras = world.extras[tenant]
    spa = world.home if tenant == "home" else world.foreign
    return {
        "code": extras["code"],
        "token": {
            "consent": extras["consent_token"],
            "follow-up": extras["follow_up_token"],
            "portal-invitations": extras["portal_invitation_token"],
            "invitations": extras["team_invitation_token"],
        },
        "public_id": spa.public_id,
    }


def _public_path(route, values):
    token = next((token for prefix, token in values["token"].items() if route.route.startswith(prefix)), "x")
    return route.path({**values, "token": token})


@pytest.mark.parametrize("actor", ["anonymous", "foreign_owner", "portal_sibling"])
def test_public_pages_change_nothing_unasked_and_unknown_codes_all_look_alike(world, db, actor, settings):
    """Landing pages, consent links and invitation links: other methods than their own are refused without a
    change; an unknown code or token answers the same as another unknown one; no page shows the other spa."""
    settings.LANDING_LOOKUPS_PER_MINUTE = 10_000  # hundreds of lookups from one address; the limit has its own tests
    client = world.client(actor)
    # The visitor's own name and spa may show (the navigation); another spa's rows may not.
    foreign_rows = [FOREIGN_MARK, world.foreign.name] if actor != "foreign_owner" else [FOREIGN_MARK]
    values = _public_values(world, "home")
    unknown = {"code": "ZZZZZ9", "token": {}, "public_id": world.missing_id}
    also_unknown = {"code": "QQQQQ7", "token": {}, "public_id": world.foreign_values["referral_id"]}
    problems = []
    for route in routes_of("public"):
        path = _public_path(route, values)
        for method in METHODS:
            before = fingerprint()
            with rolled_back():
                response = send(client, method, path)
                changed = changes(before, fingerprint())
            if response.status_code >= 500:
                problems.append(f"{actor} {method.upper()} {path} → {response.status_code}")
            if leaked(response, foreign_rows):
                problems.append(f"{actor} {method.upper()} {path} shows {leaked(response, foreign_rows)}")
            # Posting is how a patient revokes consent or signs up; nothing else may write.
            if changed and method != "post":
                problems.append(f"{actor} {method.upper()} {path} changed rows: {changed}")
            first = send(client, method, _public_path(route, {**unknown, "token": {"": "nope-1"}}))
            second = send(client, method, _public_path(route, {**also_unknown, "token": {"": "nope-2"}}))
            if first.status_code not in (404, 405) or not same_answer(first, second):
                problems.append(f"{actor} {method.upper()} {route.route}: unknown codes → {describe(first)}")
    assert problems == []


# --- the providers' webhooks /inbound/… (referrals by email and text) ------------------------------------------


@pytest.mark.parametrize("actor", ["anonymous", "foreign_owner", "owner", "portal_home"])
def test_the_inbound_webhooks_refuse_every_unsigned_request_and_change_nothing(world, db, actor, settings):
    """A session is no credential here: signed in or not, an unsigned request is refused as JSON and writes nothing."""
    set_up_inbound(settings)
    client = world.client(actor)
    problems = []
    for route in routes_of("webhook"):
        path = route.path({})
        for method in METHODS:
            before = fingerprint()
            response = send(client, method, path)
            # A POST is unsigned (403), or not even the form Twilio sends (415); other methods are not answered.
            expected = (403, 415) if method == "post" else (405,)
            if response.status_code not in expected or response.get("Content-Type") != "application/json":
                problems.append(f"{actor} {method.upper()} {path} → {describe(response)}, expected a JSON {expected}")
            if leaked(response, [*world.home_secrets(), FOREIGN_MARK]):
                problems.append(f"{actor} {method.upper()} {path} shows tenant data")
            if fingerprint() != before:
                problems.append(f"{actor} {method.upper()} {path} changed rows: {changes(before, fingerprint())}")
    assert len(routes_of("webhook")) == 2
    assert problems == []


def test_a_signed_message_lands_in_the_addressed_spa_only_and_matches_nobody_of_another_spa(world, db, settings):
    """The recipient (or the number) chooses the spa; the sender is looked up in that spa only, so another spa's
    contact or practice writing in is an unknown sender, and no row points across spas."""
    from django.core.management import call_command

    from partners.models import OfficeContact, Practice
    from referrals.models import InboundReferralDraft
    from tests.referrals.inbound_helpers import INBOUND_DOMAIN, post_email, post_sms, referral_email, twilio_params

    set_up_inbound(settings)
    with scopes_disabled():
        foreign_contact = OfficeContact.objects.filter(spa=world.foreign).exclude(email="").first()
        Practice.objects.filter(spa=world.foreign).update(phone="+16175550142", phone_normalized="6175550142")
    call_command("inbound_sms_number", world.home.slug, "+16175550100")
    before = fingerprint([world.foreign.pk])
    client = Client()

    emailed = post_email(
        client, referral_email(world.home, sender=foreign_contact.email, to=f"{world.home.slug}@{INBOUND_DOMAIN}")
    )
    texted = post_sms(client, twilio_params("+16175550100", sender="+16175550142"))

    assert (emailed.status_code, texted.status_code) == (201, 200)
    with scopes_disabled():
        new = list(InboundReferralDraft.objects.filter(spa=world.home).exclude(provider_message_id__startswith="<walk"))
    assert sorted(draft.channel for draft in new) == ["email", "sms"]
    assert all(draft.practice_id is None and draft.needs_review for draft in new)
    assert fingerprint([world.foreign.pk]) == before
    assert cross_tenant_references() == []


def test_an_invitation_link_lets_nobody_but_the_invitee_join(world, db):
    values = _public_values(world, "home")
    before = fingerprint()
    for actor in ("foreign_owner", "portal_sibling", "staff"):
        client = world.client(actor)
        for prefix in ("invitations", "portal-invitations"):
            response = client.post(f"/{prefix}/{values['token'][prefix]}/")
            assert response.status_code in (200, 302, 400, 403), (actor, prefix, response.status_code)
    assert changes(before, fingerprint()) == []


@pytest.mark.parametrize("actor", ["anonymous", "foreign_owner", "portal_home", "portal_sibling", "staff"])
def test_pages_without_a_spa_in_the_address_show_only_the_visitors_own(world, db, actor):
    client = world.client(actor)
    secrets = world.foreign_secrets() if actor in ("portal_home", "portal_sibling", "staff") else world.home_secrets()
    if actor == "portal_sibling":
        secrets = [*secrets, *world.home_practice_secrets()]
    problems = []
    for route in routes_of("site"):
        path = route.path({})
        for method in METHODS:
            before = fingerprint()
            response = send(client, method, path)
            if response.status_code >= 500 or leaked(response, secrets):
                problems.append(f"{actor} {method.upper()} {path} → {response.status_code} {leaked(response, secrets)}")
            if fingerprint() != before:
                problems.append(f"{actor} {method.upper()} {path} changed rows: {changes(before, fingerprint())}")
    assert problems == []


@pytest.mark.parametrize("actor", ["anonymous", "owner", "foreign_owner", "portal_home"])
def test_the_admin_refuses_every_actor(world, db, actor):
    for path in ("/admin/", "/admin/spas/user/"):
        response = world.client(actor).get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- foreign ids in bodies and filters ------------------------------------------------------------------------


def test_every_workspace_form_refuses_other_spas_ids(world, db):
    """Each form of each page, submitted with one foreign id at a time (then all at once) in place of ours."""
    translation = translation_between(world.home, world.foreign, world.people["foreign_owner"])
    report = inject_foreign_ids(
        client=world.client("owner"),
        pages=[route.path(world.home_values) for route in routes_of("workspace")],
        allowed_prefix=f"/s/{world.home.slug}/",
        translation=translation,
        home=world.home,
        secrets=world.foreign_secrets(),
    )
    assert report.forms >= 20, report.submissions
    # The forms work with our own ids (so the refusals are about the foreign ones).
    accepted = {action for method, action, _label, own, _foreign in report.submissions if own in (200, 302)}
    assert len(accepted) >= 15, report.submissions
    assert report.failures == []
    assert cross_tenant_references() == []


def test_the_portal_form_refuses_other_practices_and_spas_ids(world, db):
    for actor, foreign in (("portal_home", world.foreign), ("portal_sibling", world.home)):
        translation = translation_between(world.home, foreign, world.people["foreign_owner"])
        if foreign == world.home:
            # For the sibling practice, "foreign" means the home practice's clinicians and services.
            translation = translation_between(world.home, world.home, world.people["owner"])
        report = inject_foreign_ids(
            client=world.client(actor),
            pages=[route.path(world.home_values) for route in routes_of("portal")],
            allowed_prefix=f"/portal/{world.home.slug}/",
            translation=translation,
            home=world.home,
            secrets=world.foreign_secrets(),
        )
        assert report.failures == []


def _form_data(client, page, action_contains=""):
    """(action, data) of the page's own form (or the one whose action contains ``action_contains``)."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    forms = [form for form in forms_on(response.content.decode(), page) if form.method == "post"]
    form = next(form for form in forms if (action_contains in form.action if action_contains else form.action == page))
    return form.action, filled(form)


DIRECT = "post straight to the page"


def _pair(world, page, own_changes, foreign_changes, action_contains="", actor="owner"):
    """The form on ``page`` filled in with ``own_changes`` (a value of None drops the field), and the same with
    ``foreign_changes``; ``DIRECT`` posts only the changes to ``page`` itself."""
    client = world.client(actor)
    if action_contains == DIRECT:
        action, data = page, {}
    else:
        action, data = _form_data(client, page, action_contains)
    own = {name: value for name, value in {**data, **own_changes}.items() if value is not None}
    return client, action, own, {**own, **foreign_changes}


def _body_cases(world):
    home, foreign, extras = world.home_values, world.foreign_values, world.extras
    s = f"/s/{world.home.slug}"
    practice = str(home["practice_id"])
    return {
        "manual referral, another spa's practice": (
            f"{s}/referrals/new/",
            {"practice": practice, "reason_category": "other", "patient_phone": "617-555-0100"},
            {"practice": str(foreign["practice_id"])},
        ),
        "manual referral, another spa's clinician": (
            f"{s}/referrals/new/",
            {"practice": practice, "reason_category": "other", "patient_phone": "617-555-0100"},
            {"clinician": str(foreign["clinician_id"])},
        ),
        "manual referral, another spa's service": (
            f"{s}/referrals/new/",
            {"practice": practice, "reason_category": "other", "patient_phone": "617-555-0100"},
            {"services": [str(foreign["item_id"])]},
        ),
        "API key for another spa's practice": (
            f"{s}/api-keys/new/",
            {"practice": practice},
            {"practice": str(foreign["practice_id"])},
        ),
        "gift to another spa's clinician": (
            f"{s}/outreach/gifts/new/",
            {
                "practice": practice,
                "recipient": f"clinician:{home['clinician_id']}",
                "kind": "meal",
                "fair_market_value": "10.00",
            },
            {"recipient": f"clinician:{foreign['clinician_id']}"},
        ),
        "merge with another spa's practice": (
            f"{s}/partners/{world.sibling_practice.public_id}/merge/",
            {"other": practice},
            {"other": str(foreign["practice_id"])},
            DIRECT,
        ),
        "revoke another spa's portal access": (
            f"{s}/partners/{practice}/",
            {"access": extras["home"]["portal_access"]},
            {"access": extras["foreign"]["portal_access"]},
            "access/revoke",
        ),
        "revoke the sibling practice's portal access through this practice": (
            f"{s}/partners/{practice}/",
            {"access": extras["home"]["portal_access"]},
            {"access": extras["sibling"]["portal_access"]},
            "access/revoke",
        ),
        "withdraw another spa's portal invitation": (
            f"{s}/partners/{practice}/",
            {"invitation": extras["home"]["portal_invitation"]},
            {"invitation": extras["foreign"]["portal_invitation"]},
            "invitations/revoke",
        ),
        "invite another spa's practice to an event": (
            f"{s}/outreach/events/{home['event_id']}/invite/",
            {"practices": [practice]},
            {"practices": [str(foreign["practice_id"])]},
        ),
        "confirm a message as a referral from another spa's practice": (
            f"{s}/referrals/inbound/{home['draft_id']}/confirm/",
            {"practice": practice, "reason_category": "other", "patient_phone": "617-555-0100"},
            {"practice": str(foreign["practice_id"])},
        ),
        "confirm a message keeping another spa's message attachment": (
            f"{s}/referrals/inbound/{home['draft_id']}/confirm/",
            {"practice": practice, "reason_category": "other", "patient_phone": "617-555-0100"},
            {"attachment": str(foreign["attachment_id"])},
        ),
        "campaign step with another spa's letter template": (
            f"{s}/outreach/campaigns/new/",
            {"name": "Matrix campaign", "add_step": None, "action": "draft"},
            {"steps-0-letter_template": str(foreign["template_id"])},
        ),
        # A public address the guard accepts without a DNS lookup; nothing is sent (the test's transaction rolls back).
        "webhook endpoint for another spa's practice": (
            f"{s}/webhooks/new/",
            {"practice": practice, "url": "https://93.184.215.14/matrix", "events": ["referral.received"]},
            {"practice": str(foreign["practice_id"])},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "manual referral, another spa's practice",
        "manual referral, another spa's clinician",
        "manual referral, another spa's service",
        "API key for another spa's practice",
        "gift to another spa's clinician",
        "merge with another spa's practice",
        "revoke another spa's portal access",
        "revoke the sibling practice's portal access through this practice",
        "withdraw another spa's portal invitation",
        "invite another spa's practice to an event",
        "campaign step with another spa's letter template",
        "webhook endpoint for another spa's practice",
        "confirm a message as a referral from another spa's practice",
        "confirm a message keeping another spa's message attachment",
    ],
)
def test_a_form_that_works_with_our_ids_refuses_a_foreign_one(world, db, case):
    page, own_changes, foreign_changes, *action = _body_cases(world)[case]
    client, target, own, foreign = _pair(world, page, own_changes, foreign_changes, *action)
    with rolled_back():
        before = fingerprint()
        accepted = client.post(target, own)
        assert accepted.status_code in (200, 302) and changes(before, fingerprint()), (
            f"the control submission did not go through: {accepted.status_code}"
        )
    before = fingerprint()
    refused = client.post(target, foreign)
    assert 400 <= refused.status_code < 500, refused.status_code
    assert leaked(refused, world.foreign_secrets()) == []
    assert changes(before, fingerprint()) == []


FILTERS = {
    "inbox by another spa's practice": ("referrals/", "practice", "practice_id"),
    "inbox by another spa's member": ("referrals/", "assignee", "foreign_owner"),
    "task list by another spa's practice": ("outreach/tasks/", "practice", "practice_id"),
    "task list by another spa's member": ("outreach/tasks/", "assignee", "foreign_owner"),
    "partners list by another spa's owner": ("partners/", "owner", "foreign_owner"),
    "partners list by another spa's tag": ("partners/", "tag", "practice_id"),
    "gift ledger by another spa's practice": ("outreach/gifts/", "practice", "practice_id"),
    "gift report by another spa's clinician": ("outreach/gifts/report/2026/", "recipient", "clinician"),
    "campaign preview by another spa's tag": ("outreach/campaigns/preview/", "tag", "practice_id"),
    "objection summary by another spa's practice": ("outreach/objections/summary/", "practice", "practice_id"),
    "partner health by another spa's practice": ("outreach/health/", "practice", "practice_id"),
}


@pytest.mark.parametrize("case", FILTERS)
def test_filters_with_foreign_ids_show_no_foreign_rows(world, db, case):
    page, parameter, value = FILTERS[case]
    if value == "foreign_owner":
        value = world.people["foreign_owner"].pk
    elif value == "clinician":
        value = f"clinician:{world.foreign_values['clinician_id']}"
    else:
        value = world.foreign_values[value]
    client = world.client("owner")
    before = fingerprint()
    response = client.get(f"/s/{world.home.slug}/{page}", {parameter: value})
    if response.status_code == 404:  # refusing the foreign id is fine, the way it refuses an unknown one
        missing = client.get(
            f"/s/{world.home.slug}/{page}",
            {parameter: str(value).replace(str(value).split(":")[-1], str(world.missing_id))},
        )
        assert same_answer(response, missing)
    assert response.status_code in (200, 400, 404), response.status_code
    assert leaked(response, world.foreign_secrets()) == []
    body = response.content.decode()
    foreign_ids = identifiers_of(world.foreign) - {str(value).split(":")[-1]}
    assert [found for found in foreign_ids if found in body] == []
    assert changes(before, fingerprint()) == []


def test_nothing_in_the_home_spa_names_a_foreign_row(world, db):
    """After the world is built: no row of one spa references or mentions another spa's rows."""
    assert cross_tenant_references() == []
    assert rows_mentioning(world.home, identifiers_of(world.foreign)) == []
    assert rows_mentioning(world.foreign, identifiers_of(world.home)) == []


# --- tests of the tests: take a protection away and the matrix must see it ---------------------------------------


def test_the_matrix_sees_a_view_that_reads_across_spas(world, db, monkeypatch):
    from django.shortcuts import get_object_or_404

    from partners import views
    from partners.models import Practice

    def unscoped(request, practice_id):
        with scopes_disabled():
            return get_object_or_404(Practice._base_manager.select_related("owner"), public_id=practice_id)

    monkeypatch.setattr(views, "_practice_or_404", unscoped)
    report = walk_foreign_ids(
        new_report(),
        routes=[route for route in routes_of("workspace") if route.route.startswith("s/<slug:spa_slug>/partners/<")],
        client=world.client("owner"),
        actor="owner",
        own=world.home_values,
        foreign=world.foreign_values,
        missing_id=world.missing_id,
        secrets=world.foreign_secrets(),
        method_list=("get",),
    )
    assert any("answers differ" in failure or "shows" in failure for failure in report.failures)


def test_the_matrix_sees_a_webhook_page_that_reads_across_spas(world, db, monkeypatch):
    from django.shortcuts import get_object_or_404

    from referrals.models import WebhookEndpoint
    from referrals.webhooks import selectors as webhook_selectors

    def unscoped(*, spa, public_id):
        with scopes_disabled():
            return get_object_or_404(
                WebhookEndpoint._base_manager.select_related("practice", "spa"), public_id=public_id
            )

    monkeypatch.setattr(webhook_selectors, "webhook_endpoint_of", unscoped)
    report = walk_foreign_ids(
        new_report(),
        routes=[route for route in routes_of("workspace") if route.route.startswith("s/<slug:spa_slug>/webhooks/<")],
        client=world.client("owner"),
        actor="owner",
        own=world.home_values,
        foreign=world.foreign_values,
        missing_id=world.missing_id,
        secrets=world.foreign_secrets(),
        method_list=("get",),
    )
    assert report.visited
    assert any("answers differ" in failure or "shows" in failure for failure in report.failures)


def test_the_matrix_sees_a_portal_that_forgets_the_practice(world, db, monkeypatch):
    from referrals.portal import views as portal_views
    from referrals.portal.selectors import portal_referral_detail

    def whole_spa(*, spa, practice, public_id):
        return portal_referral_detail(
            spa=spa, practice=Referral.objects.get(public_id=public_id).practice, public_id=public_id
        )

    monkeypatch.setattr(portal_views, "portal_referral_detail", whole_spa)
    own = {**world.home_values, "referral_id": world.sibling_values["referral_id"], "report_id": world.missing_id}
    report = walk_foreign_ids(
        new_report(),
        routes=[route for route in routes_of("portal") if route.name == "referral"],
        client=world.client("portal_sibling"),
        actor="portal_sibling",
        own=own,
        foreign=world.home_values,
        missing_id=world.missing_id,
        secrets=world.home_practice_secrets(),
        method_list=("get",),
    )
    assert any("a foreign object was served" in failure for failure in report.failures)
    assert any("Walkpatient" in failure for failure in report.failures)


def test_the_matrix_sees_an_api_that_forgets_the_practice(world, db, monkeypatch):
    from referrals.api import apis

    original = apis.referral_of_practice

    def any_practice(*, api_key, public_id):
        practice = Referral.objects.get(public_id=public_id).practice
        return original(api_key=type("Key", (), {"spa": api_key.spa, "practice": practice})(), public_id=public_id)

    monkeypatch.setattr(apis, "referral_of_practice", any_practice)
    report = walk_foreign_ids(
        new_report(),
        routes=[route for route in routes_of("api") if route.name == "referral_detail"],
        client=api_client(world, "sibling"),
        actor="sibling key",
        own={},
        foreign=world.home_values,
        missing_id=world.missing_id,
        secrets=[],
        method_list=("get",),
    )
    assert any("a foreign object was served" in failure for failure in report.failures)


def test_the_matrix_sees_a_fhir_read_that_forgets_the_practice(world, db, monkeypatch):
    from referrals.api.selectors import referral_of_practice
    from referrals.fhir import apis as fhir_apis

    def any_practice(*, api_key, public_id):
        practice = Referral.objects.get(public_id=public_id).practice
        return referral_of_practice(
            api_key=type("Key", (), {"spa": api_key.spa, "practice": practice})(), public_id=public_id
        )

    monkeypatch.setattr(fhir_apis, "referral_of_practice", any_practice)
    report = walk_foreign_ids(
        new_report(),
        routes=[route for route in routes_of("fhir") if route.name == "service_request_read"],
        client=api_client(world, "sibling"),
        actor="sibling key",
        own={},
        foreign=world.home_values,
        missing_id=world.missing_id,
        secrets=[],
        method_list=("get",),
    )
    assert any("a foreign object was served" in failure for failure in report.failures)


def test_the_matrix_sees_a_form_that_accepts_another_spas_practice(world, db, monkeypatch):
    from outreach.activity import forms as activity_forms
    from partners.models import Practice

    original = activity_forms.TaskForm.__init__

    def unscoped_choices(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.fields["practice"].queryset = Practice._base_manager.all()

    monkeypatch.setattr(activity_forms.TaskForm, "__init__", unscoped_choices)
    translation = translation_between(world.home, world.foreign, world.people["foreign_owner"])
    report = inject_foreign_ids(
        client=world.client("owner"),
        pages=[f"/s/{world.home.slug}/outreach/tasks/new/"],
        allowed_prefix=f"/s/{world.home.slug}/",
        translation=translation,
        home=world.home,
        secrets=world.foreign_secrets(),
    )
    # The form now offers (and so shows) the other spa's practices; the service behind it still refuses them.
    assert any("foreign practice" in failure and "Zqforeign" in failure for failure in report.failures)


def test_the_matrix_sees_a_role_check_taken_away(world, db, monkeypatch):
    from spas import tenancy

    monkeypatch.setattr(tenancy, "_minimum_role_of", lambda view: "staff")
    report = walk_denied(
        new_report(),
        routes=[route for route in routes_of("workspace") if role_above_staff(route)][:10],
        client=world.client("staff"),
        actor="staff",
        values=world.home_values,
        expect="forbidden",
        method_list=("get",),
    )
    assert any("expected 403" in failure for failure in report.failures)


def test_the_matrix_sees_a_portal_open_to_spa_members(world, db, monkeypatch):
    from referrals.models import PortalAccess
    from referrals.portal import access as portal

    original = portal.portal_access_for

    def members_too(user, spa_slug):
        with scopes_disabled():
            return original(user, spa_slug) or PortalAccess.objects.filter(spa__slug=spa_slug).first()

    monkeypatch.setattr(portal, "portal_access_for", members_too)
    report = walk_denied(
        new_report(),
        routes=routes_of("portal"),
        client=world.client("foreign_owner"),
        actor="foreign_owner",
        values=world.home_values,
        expect="same-as-missing-spa",
        secrets=world.home_practice_secrets(),
        method_list=("get",),
    )
    assert any("expected 404" in failure for failure in report.failures)


def test_the_matrix_sees_an_api_key_that_outlives_its_revocation(world, db, monkeypatch):
    from referrals.api import auth as api_auth
    from referrals.api.services import api_key_for_raw
    from referrals.models import ApiKey, hash_api_key

    def revoked_too(raw_key):
        with scopes_disabled():
            return api_key_for_raw(raw_key) or ApiKey.objects.filter(key_hash=hash_api_key(raw_key)).first()

    monkeypatch.setattr(api_auth, "api_key_for_raw", revoked_too)
    report = walk_api_unauthorised(
        new_report(),
        routes=_api_v1_routes(),
        client=api_client(world, "revoked"),
        key_label="revoked",
        reference=api_client(world, "never-issued"),
        values=world.home_values,
    )
    assert any("expected a JSON 401" in failure for failure in report.failures)
