"""The service catalog: list, add, edit, archive and restore each kind; validation; roles; tenancy;
talking points per specialty; and the reads that leave-behinds and landing pages use."""

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import AuditEvent
from spas import catalog
from spas.catalog import DEFAULT_TALKING_POINTS
from spas.models import Credential, Equipment, Offer, ProductLine, Role, Service, Specialty, SpecialtyTalkingPoints

from ..factories import (
    CredentialFactory,
    EquipmentFactory,
    MembershipFactory,
    OfferFactory,
    ProductLineFactory,
    ServiceFactory,
    UserFactory,
)


@dataclass
class Kind:
    model: type
    factory: type
    label_field: str  # the field a person reads the item by: name, title or person
    data: dict  # a valid submission of the add form
    stored: dict  # what that submission must store, beyond the label and specialties


KINDS = {
    "services": Kind(
        Service,
        ServiceFactory,
        "name",
        {
            "name": "Prenatal massage",
            "category": "massage",
            "description": "Side-lying massage from the second trimester.",
            "duration_minutes": "60",
            "price": "110.00",
            "specialties": ["ob_gyn"],
            "pregnancy_safe": "on",
            "precautions": "Not in the first trimester; follow the OB's precautions.",
        },
        {"category": "massage", "duration_minutes": 60, "price": Decimal("110.00"), "pregnancy_safe": True},
    ),
    "offers": Kind(
        Offer,
        OfferFactory,
        "title",
        {
            "title": "15% off a first prenatal massage",
            "terms": "First visit only.",
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "specialties": ["ob_gyn"],
        },
        {"valid_from": date(2026, 1, 1), "valid_until": date(2026, 12, 31), "terms": "First visit only."},
    ),
    "credentials": Kind(
        Credential,
        CredentialFactory,
        "person",
        {
            "person": "Ana Ruiz",
            "credential": "Certified prenatal massage therapist",
            "issuer": "NHI",
            "number": "PMT-1234",
            "expires_on": "2027-06-30",
            "specialties": ["ob_gyn"],
        },
        {"credential": "Certified prenatal massage therapist", "number": "PMT-1234", "expires_on": date(2027, 6, 30)},
    ),
    "equipment": Kind(
        Equipment,
        EquipmentFactory,
        "name",
        {
            "name": "Prenatal table with belly cut-out",
            "brand": "Earthlite",
            "purpose": "Comfortable face-down positioning in pregnancy.",
            "specialties": ["ob_gyn"],
        },
        {"brand": "Earthlite"},
    ),
    "product-lines": Kind(
        ProductLine,
        ProductLineFactory,
        "name",
        {
            "name": "Tolérance",
            "brand": "Avène",
            "purpose": "Fragrance-free care for reactive skin.",
            "specialties": ["ob_gyn"],
        },
        {"brand": "Avène"},
    ),
}

KIND_NAMES = list(KINDS)


def field_error(response, field):
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="id_{field}_error"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    return html.unescape(match.group(1)) if match else None


def _list_url(spa, kind, **query):
    url = reverse("catalog:list", args=[spa.slug, kind])
    return url + "?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else url


def _create_url(spa, kind):
    return reverse("catalog:create", args=[spa.slug, kind])


def _edit_url(spa, kind, item):
    return reverse("catalog:edit", args=[spa.slug, kind, item.public_id])


def _archive_url(spa, kind, item):
    return reverse("catalog:archive", args=[spa.slug, kind, item.public_id])


def _rows(model, spa):
    with scopes_disabled():
        return list(model.objects.filter(spa=spa).order_by("id"))


def _events(spa, action=None):
    with scopes_disabled():
        events = AuditEvent.objects.filter(spa=spa).order_by("id")
        if action:
            events = events.filter(action=action)
        return list(events)


def _listed_ids(response):
    return re.findall(r'<tr data-item="([0-9a-f-]+)"', response.content.decode())


def _item(kind, spa, **fields):
    spec = KINDS[kind]
    return spec.factory(spa=spa, **fields)


def _label(kind, item):
    return getattr(item, KINDS[kind].label_field)


@pytest.fixture
def manager_client(client_for, manager_user):
    return client_for(manager_user)


# --- lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_each_list_shows_the_spas_active_items_only(owner_client, spa, other_spa, kind):
    ours = _item(kind, spa)
    archived = _item(kind, spa)
    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=archived, archived=True, actor=None)
    theirs = _item(kind, other_spa)

    response = owner_client.get(_list_url(spa, kind))

    assert response.status_code == 200
    assert _listed_ids(response) == [str(ours.public_id)]
    page = response.content.decode()
    assert html.escape(_label(kind, ours)) in page
    assert html.escape(_label(kind, theirs)) not in page
    assert _edit_url(spa, kind, ours) in page


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_archived_items_are_listed_under_archived_with_a_restore_button(owner_client, spa, kind):
    active = _item(kind, spa)
    archived = _item(kind, spa)
    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=archived, archived=True, actor=None)

    response = owner_client.get(_list_url(spa, kind, archived=1))

    assert response.status_code == 200
    assert _listed_ids(response) == [str(archived.public_id)]
    assert str(active.public_id) not in response.content.decode()
    assert 'name="restore" value="1"' in response.content.decode()


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_an_empty_list_invites_the_first_item(owner_client, spa, kind):
    response = owner_client.get(_list_url(spa, kind))

    assert response.status_code == 200
    assert _listed_ids(response) == []
    assert _create_url(spa, kind) in response.content.decode()
    assert "Add your first" in response.content.decode()


def test_the_catalog_index_counts_each_kinds_active_items(owner_client, spa, other_spa):
    ServiceFactory.create_batch(3, spa=spa)
    archived = ServiceFactory(spa=spa)
    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=archived, archived=True, actor=None)
    ServiceFactory.create_batch(5, spa=other_spa)
    CredentialFactory(spa=spa)

    response = owner_client.get(reverse("catalog:index", args=[spa.slug]))

    assert response.status_code == 200
    sections = {section["kind"]: section["count"] for section in response.context["sections"]}
    assert sections == {"services": 3, "offers": 0, "credentials": 1, "equipment": 0, "product-lines": 0}


def test_the_services_list_filters_by_specialty(owner_client, spa):
    prenatal = ServiceFactory(spa=spa, name="Prenatal massage", specialties=["ob_gyn"])
    ServiceFactory(spa=spa, name="Post-peel facial", specialties=["dermatology"])
    ServiceFactory(spa=spa, name="Swedish massage", specialties=[])

    response = owner_client.get(_list_url(spa, "services", specialty="ob_gyn"))

    assert _listed_ids(response) == [str(prenatal.public_id)]


def test_an_offer_for_every_specialty_stays_in_a_filtered_list(owner_client, spa):
    for_everyone = OfferFactory(spa=spa, title="Welcome offer", specialties=[])
    prenatal = OfferFactory(spa=spa, title="Prenatal offer", specialties=["ob_gyn"])
    OfferFactory(spa=spa, title="Peel offer", specialties=["dermatology"])

    response = owner_client.get(_list_url(spa, "offers", specialty="ob_gyn"))

    assert sorted(_listed_ids(response)) == sorted([str(for_everyone.public_id), str(prenatal.public_id)])


def test_an_unknown_specialty_filter_lists_everything(owner_client, spa):
    services = ServiceFactory.create_batch(2, spa=spa)

    response = owner_client.get(_list_url(spa, "services", specialty="podiatry"))

    assert sorted(_listed_ids(response)) == sorted(str(service.public_id) for service in services)


def test_the_list_is_paginated(owner_client, spa):
    ServiceFactory.create_batch(52, spa=spa)

    first = owner_client.get(_list_url(spa, "services"))
    second = owner_client.get(_list_url(spa, "services", page=2))

    assert len(_listed_ids(first)) == 50
    assert len(_listed_ids(second)) == 2
    assert not set(_listed_ids(first)) & set(_listed_ids(second))
    assert "page=2" in first.content.decode()


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_list_page_runs_the_same_queries_for_many_items(
    owner_client, spa, kind, django_assert_max_num_queries, django_assert_num_queries
):
    KINDS[kind].factory.create_batch(2, spa=spa)
    owner_client.get(_list_url(spa, kind))  # warm-up: the first visit records the last-opened spa in the session
    with django_assert_max_num_queries(20) as few:
        owner_client.get(_list_url(spa, kind))

    KINDS[kind].factory.create_batch(30, spa=spa)
    with django_assert_num_queries(len(few.captured_queries)):
        owner_client.get(_list_url(spa, kind))


def test_the_list_does_not_show_edit_buttons_to_staff(staff_client, spa):
    service = ServiceFactory(spa=spa)

    response = staff_client.get(_list_url(spa, "services"))

    assert response.status_code == 200
    assert _listed_ids(response) == [str(service.public_id)]
    page = response.content.decode()
    assert _edit_url(spa, "services", service) not in page
    assert _archive_url(spa, "services", service) not in page
    assert _create_url(spa, "services") not in page


# --- adding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_owner_adds_an_item_of_each_kind(owner_client, spa, owner, other_spa, kind):
    spec = KINDS[kind]

    form = owner_client.get(_create_url(spa, kind))
    response = owner_client.post(_create_url(spa, kind), spec.data)

    assert form.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == _list_url(spa, kind)
    [item] = _rows(spec.model, spa)
    assert getattr(item, spec.label_field) == spec.data[spec.label_field]
    assert item.specialties == spec.data["specialties"]
    for field, value in spec.stored.items():
        assert getattr(item, field) == value
    assert item.archived_at is None
    assert _rows(spec.model, other_spa) == []
    [event] = _events(spa)
    assert event.action == f"{spec.model._meta.model_name}.created"
    assert event.actor == owner
    assert event.object_type == spec.model._meta.label_lower
    assert event.object_id == str(item.public_id)


def test_a_manager_may_add_to_the_catalog(manager_client, spa):
    response = manager_client.post(_create_url(spa, "services"), KINDS["services"].data)

    assert response.status_code == 302
    assert [service.name for service in _rows(Service, spa)] == ["Prenatal massage"]


def test_a_nails_service_can_be_added(owner_client, spa):
    data = {**KINDS["services"].data, "name": "Medical pedicure", "category": "nails", "specialties": []}

    response = owner_client.post(_create_url(spa, "services"), data)

    assert response.status_code == 302
    [service] = _rows(Service, spa)
    assert service.category == Service.Category.NAILS
    assert service.specialties == []


def test_every_required_category_is_offered_on_the_service_form(owner_client, spa):
    response = owner_client.get(_create_url(spa, "services"))

    page = response.content.decode()
    for code in ("massage", "facial", "body", "skin", "nails", "wellness"):
        assert f'value="{code}"' in page


def test_a_specialty_ticked_twice_is_stored_once(owner_client, spa):
    data = {**KINDS["equipment"].data, "specialties": ["ob_gyn", "oncology", "ob_gyn"]}

    owner_client.post(_create_url(spa, "equipment"), data)

    [equipment] = _rows(Equipment, spa)
    assert equipment.specialties == ["ob_gyn", "oncology"]


def test_an_offer_needs_no_dates(owner_client, spa):
    data = {**KINDS["offers"].data, "valid_from": "", "valid_until": ""}

    response = owner_client.post(_create_url(spa, "offers"), data)

    assert response.status_code == 302
    [offer] = _rows(Offer, spa)
    assert offer.valid_from is None
    assert offer.valid_until is None


# --- editing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_owner_edits_an_item_of_each_kind(owner_client, spa, owner, kind):
    spec = KINDS[kind]
    item = _item(kind, spa, specialties=["oncology"])
    data = {**spec.data, spec.label_field: "Renamed item"}

    form = owner_client.get(_edit_url(spa, kind, item))
    response = owner_client.post(_edit_url(spa, kind, item), data)

    assert form.status_code == 200
    assert html.escape(_label(kind, item)) in form.content.decode()
    assert re.search(r'<input[^>]*value="oncology"[^>]*checked', form.content.decode())
    assert response.status_code == 302
    assert response["Location"] == _list_url(spa, kind)
    [saved] = _rows(spec.model, spa)
    assert saved.pk == item.pk
    assert getattr(saved, spec.label_field) == "Renamed item"
    assert saved.specialties == spec.data["specialties"]
    for field, value in spec.stored.items():
        assert getattr(saved, field) == value
    [event] = _events(spa)
    assert event.action == f"{spec.model._meta.model_name}.updated"
    assert event.actor == owner
    assert event.object_id == str(item.public_id)


def test_an_archived_item_can_still_be_edited_and_stays_archived(owner_client, spa):
    service = ServiceFactory(spa=spa)
    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=service, archived=True, actor=None)

    response = owner_client.post(_edit_url(spa, "services", service), KINDS["services"].data)

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.name == "Prenatal massage"
    assert service.is_archived


def test_saving_a_stale_edit_does_not_undo_an_archive(spa, owner):
    service = ServiceFactory(spa=spa)
    with scope(spa=spa):
        stale = Service.objects.get(pk=service.pk)  # an edit form opened before the archive
        catalog.catalog_item_set_archived(item=service, archived=True, actor=owner)
        stale.name = "Renamed while archived"
        catalog.catalog_item_save(spa=spa, item=stale, actor=owner)

    service.refresh_from_db()
    assert service.name == "Renamed while archived"
    assert service.is_archived


# --- archiving and restoring --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_owner_archives_and_restores_an_item_of_each_kind(owner_client, spa, owner, kind):
    spec = KINDS[kind]
    item = _item(kind, spa)
    model_name = spec.model._meta.model_name

    archived = owner_client.post(_archive_url(spa, kind, item))

    assert archived.status_code == 302
    assert archived["Location"] == _list_url(spa, kind)
    item.refresh_from_db()
    assert item.archived_at is not None
    assert _listed_ids(owner_client.get(_list_url(spa, kind))) == []
    assert _listed_ids(owner_client.get(_list_url(spa, kind, archived=1))) == [str(item.public_id)]
    [event] = _events(spa, f"{model_name}.archived")
    assert event.actor == owner
    assert event.object_id == str(item.public_id)

    restored = owner_client.post(_archive_url(spa, kind, item), {"restore": "1"})

    assert restored.status_code == 302
    item.refresh_from_db()
    assert item.archived_at is None
    assert _listed_ids(owner_client.get(_list_url(spa, kind))) == [str(item.public_id)]
    assert _listed_ids(owner_client.get(_list_url(spa, kind, archived=1))) == []
    assert [event.object_id for event in _events(spa, f"{model_name}.restored")] == [str(item.public_id)]


def test_archiving_needs_a_post(owner_client, spa):
    service = ServiceFactory(spa=spa)

    response = owner_client.get(_archive_url(spa, "services", service))

    assert response.status_code == 405
    service.refresh_from_db()
    assert service.archived_at is None


# --- validation ---------------------------------------------------------------------------------

LONG_121 = "x" * 121

BAD_INPUT = [
    ("services", {"name": ""}, "name", "This field is required."),
    ("services", {"name": LONG_121}, "name", "Ensure this value has at most 120 characters (it has 121)."),
    ("services", {"category": ""}, "category", "This field is required."),
    ("services", {"category": "tattoo"}, "category", "Select a valid choice. tattoo is not one of the available"),
    ("services", {"price": "-1"}, "price", "Ensure this value is greater than or equal to 0."),
    ("services", {"price": "cheap"}, "price", "Enter a number."),
    ("services", {"price": ""}, "price", "This field is required."),
    ("services", {"duration_minutes": "0"}, "duration_minutes", "greater than or equal to 5."),
    ("services", {"duration_minutes": "601"}, "duration_minutes", "less than or equal to 600."),
    ("services", {"duration_minutes": "an hour"}, "duration_minutes", "Enter a whole number."),
    ("services", {"duration_minutes": ""}, "duration_minutes", "This field is required."),
    ("services", {"description": "x" * 2001}, "description", "at most 2000 characters (it has 2001)."),
    ("services", {"precautions": "x" * 2001}, "precautions", "at most 2000 characters (it has 2001)."),
    ("services", {"specialties": ["podiatry"]}, "specialties", "Select a valid choice. podiatry is not one of"),
    ("offers", {"title": ""}, "title", "This field is required."),
    ("offers", {"title": LONG_121}, "title", "Ensure this value has at most 120 characters (it has 121)."),
    ("offers", {"valid_from": "2026-06-01", "valid_until": "2026-05-31"}, "valid_until", "must end after it starts"),
    ("offers", {"valid_from": "next spring"}, "valid_from", "Enter a valid date."),
    ("offers", {"terms": "x" * 2001}, "terms", "at most 2000 characters (it has 2001)."),
    ("offers", {"specialties": ["podiatry"]}, "specialties", "Select a valid choice. podiatry is not one of"),
    ("credentials", {"person": ""}, "person", "This field is required."),
    ("credentials", {"person": LONG_121}, "person", "Ensure this value has at most 120 characters (it has 121)."),
    ("credentials", {"credential": ""}, "credential", "This field is required."),
    ("credentials", {"credential": "x" * 161}, "credential", "at most 160 characters (it has 161)."),
    ("credentials", {"number": "x" * 61}, "number", "at most 60 characters (it has 61)."),
    ("credentials", {"expires_on": "31/31/2027"}, "expires_on", "Enter a valid date."),
    ("credentials", {"specialties": ["podiatry"]}, "specialties", "Select a valid choice. podiatry is not one of"),
    ("equipment", {"name": ""}, "name", "This field is required."),
    ("equipment", {"name": LONG_121}, "name", "Ensure this value has at most 120 characters (it has 121)."),
    ("equipment", {"brand": LONG_121}, "brand", "Ensure this value has at most 120 characters (it has 121)."),
    ("equipment", {"purpose": "x" * 1001}, "purpose", "at most 1000 characters (it has 1001)."),
    ("equipment", {"specialties": ["podiatry"]}, "specialties", "Select a valid choice. podiatry is not one of"),
    ("product-lines", {"name": ""}, "name", "This field is required."),
    ("product-lines", {"name": LONG_121}, "name", "Ensure this value has at most 120 characters (it has 121)."),
    ("product-lines", {"purpose": "x" * 1001}, "purpose", "at most 1000 characters (it has 1001)."),
    ("product-lines", {"specialties": ["podiatry"]}, "specialties", "Select a valid choice. podiatry is not one of"),
]


def _bad_input_id(case):
    kind, changes, field, _message = case
    value = next(iter(changes.values()))
    return f"{kind}-{field}-{'empty' if value == '' else 'bad'}-{len(str(value))}"


@pytest.mark.parametrize(("kind", "changes", "field", "message"), BAD_INPUT, ids=[_bad_input_id(c) for c in BAD_INPUT])
def test_bad_input_on_an_add_form_shows_the_error_beside_the_field_and_saves_nothing(
    owner_client, spa, kind, changes, field, message
):
    spec = KINDS[kind]

    response = owner_client.post(_create_url(spa, kind), {**spec.data, **changes})

    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    assert _rows(spec.model, spa) == []
    assert _events(spa) == []


@pytest.mark.parametrize(("kind", "changes", "field", "message"), BAD_INPUT, ids=[_bad_input_id(c) for c in BAD_INPUT])
def test_bad_input_on_an_edit_form_shows_the_error_beside_the_field_and_changes_nothing(
    owner_client, spa, kind, changes, field, message
):
    spec = KINDS[kind]
    item = _item(kind, spa)
    item.refresh_from_db()
    before = {f.attname: getattr(item, f.attname) for f in spec.model._meta.concrete_fields if f.name != "updated_at"}

    response = owner_client.post(_edit_url(spa, kind, item), {**spec.data, **changes})

    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    item.refresh_from_db()
    assert {name: getattr(item, name) for name in before} == before
    assert _events(spa) == []


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_an_empty_submission_shows_required_errors_and_saves_nothing(owner_client, spa, kind):
    spec = KINDS[kind]

    response = owner_client.post(_create_url(spa, kind), {})

    assert response.status_code == 400
    assert field_error(response, spec.label_field) == "This field is required."
    assert _rows(spec.model, spa) == []


# --- roles and tenancy --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_staff_may_view_the_lists(staff_client, spa, kind):
    item = _item(kind, spa)

    assert staff_client.get(reverse("catalog:index", args=[spa.slug])).status_code == 200
    response = staff_client.get(_list_url(spa, kind))
    assert response.status_code == 200
    assert _listed_ids(response) == [str(item.public_id)]


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_staff_cannot_add_edit_or_archive(staff_client, spa, kind):
    spec = KINDS[kind]
    item = _item(kind, spa)
    label = _label(kind, item)

    responses = [
        staff_client.get(_create_url(spa, kind)),
        staff_client.post(_create_url(spa, kind), spec.data),
        staff_client.get(_edit_url(spa, kind, item)),
        staff_client.post(_edit_url(spa, kind, item), {**spec.data, spec.label_field: "Renamed by staff"}),
        staff_client.post(_archive_url(spa, kind, item)),
    ]

    assert [response.status_code for response in responses] == [403] * 5
    [unchanged] = _rows(spec.model, spa)
    assert getattr(unchanged, spec.label_field) == label
    assert unchanged.archived_at is None
    assert _events(spa) == []


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_a_manager_cannot_reach_another_spas_item_through_their_own_spa(manager_client, spa, other_spa, kind):
    spec = KINDS[kind]
    theirs = _item(kind, other_spa)
    label = _label(kind, theirs)

    responses = [
        manager_client.get(_edit_url(spa, kind, theirs)),
        manager_client.post(_edit_url(spa, kind, theirs), {**spec.data, spec.label_field: "Hijacked"}),
        manager_client.post(_archive_url(spa, kind, theirs)),
    ]

    assert [response.status_code for response in responses] == [404] * 3
    [unchanged] = _rows(spec.model, other_spa)
    assert getattr(unchanged, spec.label_field) == label
    assert unchanged.archived_at is None
    assert _rows(spec.model, spa) == []
    assert _events(spa) == [] and _events(other_spa) == []


def test_an_outsider_gets_404_on_our_catalog_and_our_items(outsider_client, spa):
    service = ServiceFactory(spa=spa)

    responses = [
        outsider_client.get(_list_url(spa, "services")),
        outsider_client.post(_create_url(spa, "services"), KINDS["services"].data),
        outsider_client.post(_edit_url(spa, "services", service), KINDS["services"].data),
        outsider_client.post(_archive_url(spa, "services", service)),
    ]

    assert [response.status_code for response in responses] == [404] * 4
    service.refresh_from_db()
    assert service.archived_at is None
    assert _rows(Service, spa) == [service]


def test_an_item_under_the_wrong_kind_is_not_found(owner_client, spa):
    service = ServiceFactory(spa=spa)

    assert owner_client.get(_edit_url(spa, "offers", service)).status_code == 404
    assert owner_client.post(_archive_url(spa, "equipment", service)).status_code == 404
    service.refresh_from_db()
    assert service.archived_at is None


@pytest.mark.parametrize("url_name", ["catalog:list", "catalog:create"])
def test_an_unknown_kind_is_not_found(owner_client, spa, url_name):
    assert owner_client.get(reverse(url_name, args=[spa.slug, "massages"])).status_code == 404


def test_an_unknown_kind_with_a_real_item_id_is_not_found(owner_client, spa):
    service = ServiceFactory(spa=spa)

    edit = reverse("catalog:edit", args=[spa.slug, "massages", service.public_id])
    archive = reverse("catalog:archive", args=[spa.slug, "massages", service.public_id])

    assert owner_client.get(edit).status_code == 404
    assert owner_client.post(archive).status_code == 404


# --- talking points -----------------------------------------------------------------------------


def _talking_points(spa):
    with scopes_disabled():
        return dict(SpecialtyTalkingPoints.objects.filter(spa=spa).values_list("specialty", "talking_points"))


def _talking_points_edit_url(spa, specialty):
    return reverse("catalog:talking_points_edit", args=[spa.slug, specialty])


def test_the_first_visit_seeds_every_specialty_with_default_talking_points(staff_client, spa):
    assert _talking_points(spa) == {}

    response = staff_client.get(reverse("catalog:talking_points", args=[spa.slug]))

    assert response.status_code == 200
    points = _talking_points(spa)
    assert sorted(points) == sorted(Specialty.values)
    assert len(points) == 9
    for code, text in points.items():
        assert text.strip(), code
        assert text == str(DEFAULT_TALKING_POINTS[code])
    page = response.content.decode()
    for _code, label in Specialty.choices:
        assert html.escape(str(label)) in page
    assert "Prenatal massage" in html.unescape(page)


def test_a_second_visit_adds_no_more_talking_points(owner_client, spa):
    owner_client.get(reverse("catalog:talking_points", args=[spa.slug]))
    owner_client.get(reverse("catalog:talking_points", args=[spa.slug]))

    with scopes_disabled():
        assert SpecialtyTalkingPoints.objects.filter(spa=spa).count() == 9


def test_the_defaults_speak_to_each_specialty(spa):
    with scope(spa=spa):
        rows = {row.specialty: row.talking_points for row in catalog.talking_points_for(spa=spa)}

    assert "prenatal" in rows["ob_gyn"].lower()
    assert "oncology" in rows["oncology"].lower()
    assert "peel" in rows["dermatology"].lower()
    assert "sports massage" in rows["sports_medicine"].lower()


def test_the_owner_edits_a_specialtys_talking_points(owner_client, spa, owner):
    url = _talking_points_edit_url(spa, "ob_gyn")

    form = owner_client.get(url)
    response = owner_client.post(url, {"talking_points": "Certified prenatal therapists, second trimester on."})

    assert form.status_code == 200
    assert "Prenatal massage" in html.unescape(form.content.decode())
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:talking_points", args=[spa.slug])
    points = _talking_points(spa)
    assert points["ob_gyn"] == "Certified prenatal therapists, second trimester on."
    assert points["dermatology"] == str(DEFAULT_TALKING_POINTS["dermatology"])
    [event] = _events(spa, "talking_points.updated")
    assert event.actor == owner
    with scopes_disabled():
        assert event.object_id == str(SpecialtyTalkingPoints.objects.get(spa=spa, specialty="ob_gyn").pk)


def test_one_spas_talking_points_do_not_change_another_spas(owner_client, spa, other_spa):
    owner_client.post(_talking_points_edit_url(spa, "oncology"), {"talking_points": "Our own oncology pitch."})
    with scope(spa=other_spa):
        theirs = {row.specialty: row.talking_points for row in catalog.talking_points_for(spa=other_spa)}

    assert _talking_points(spa)["oncology"] == "Our own oncology pitch."
    assert theirs["oncology"] == str(DEFAULT_TALKING_POINTS["oncology"])
    assert _events(other_spa) == []


def test_overlong_talking_points_are_refused_beside_the_field(owner_client, spa):
    response = owner_client.post(_talking_points_edit_url(spa, "dermatology"), {"talking_points": "x" * 4001})

    assert response.status_code == 400
    assert "at most 4000 characters (it has 4001)." in field_error(response, "talking_points")
    assert _talking_points(spa)["dermatology"] == str(DEFAULT_TALKING_POINTS["dermatology"])
    assert _events(spa) == []


def test_an_unknown_specialty_has_no_talking_points_page(owner_client, spa):
    response = owner_client.post(_talking_points_edit_url(spa, "podiatry"), {"talking_points": "Feet."})

    assert response.status_code == 404
    assert "podiatry" not in _talking_points(spa)


def test_staff_see_talking_points_but_cannot_edit_them(staff_client, spa):
    page = staff_client.get(reverse("catalog:talking_points", args=[spa.slug]))
    response = staff_client.post(_talking_points_edit_url(spa, "dermatology"), {"talking_points": "Staff edit."})

    assert page.status_code == 200
    assert _talking_points_edit_url(spa, "dermatology") not in page.content.decode()
    assert response.status_code == 403
    assert _talking_points(spa)["dermatology"] == str(DEFAULT_TALKING_POINTS["dermatology"])


def test_an_outsider_cannot_edit_our_talking_points(outsider_client, spa):
    response = outsider_client.post(_talking_points_edit_url(spa, "dermatology"), {"talking_points": "Spy."})

    assert response.status_code == 404
    assert "Spy." not in _talking_points(spa).values()


# --- reads --------------------------------------------------------------------------------------


def test_services_for_a_specialty_are_the_active_ones_that_suit_it(spa, other_spa):
    facial = ServiceFactory(spa=spa, name="Post-peel facial", specialties=["dermatology", "plastic_surgery"])
    ServiceFactory(spa=spa, name="Prenatal massage", specialties=["ob_gyn"])
    ServiceFactory(spa=spa, name="Swedish massage", specialties=[])
    archived = ServiceFactory(spa=spa, name="Old facial", specialties=["dermatology"])
    ServiceFactory(spa=other_spa, name="Their facial", specialties=["dermatology"])

    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=archived, archived=True, actor=None)
        found = catalog.services_for_specialty(spa=spa, specialty="dermatology")

    assert found == [facial]


TODAY = date(2026, 3, 10)


def test_current_offers_respect_their_dates(spa):
    always = OfferFactory(spa=spa, title="Always")
    started_today = OfferFactory(spa=spa, title="Starts today", valid_from=TODAY)
    ends_today = OfferFactory(spa=spa, title="Ends today", valid_until=TODAY)
    OfferFactory(spa=spa, title="Starts tomorrow", valid_from=TODAY + timedelta(days=1))
    OfferFactory(spa=spa, title="Ended yesterday", valid_until=TODAY - timedelta(days=1))

    with scope(spa=spa):
        found = catalog.current_offers(spa=spa, on_date=TODAY)

    assert {offer.title for offer in found} == {always.title, started_today.title, ends_today.title}


def test_current_offers_leave_out_archived_and_other_spas_offers(spa, other_spa):
    kept = OfferFactory(spa=spa, title="Kept")
    archived = OfferFactory(spa=spa, title="Archived")
    OfferFactory(spa=other_spa, title="Theirs")

    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=archived, archived=True, actor=None)
        found = catalog.current_offers(spa=spa, on_date=TODAY)

    assert found == [kept]


def test_an_offer_naming_no_specialty_applies_to_every_specialty(spa):
    for_everyone = OfferFactory(spa=spa, title="Welcome", specialties=[])
    prenatal = OfferFactory(spa=spa, title="Prenatal", specialties=["ob_gyn"])
    OfferFactory(spa=spa, title="Peel", specialties=["dermatology"])

    with scope(spa=spa):
        for_ob_gyn = catalog.current_offers(spa=spa, specialty="ob_gyn", on_date=TODAY)
        for_oncology = catalog.current_offers(spa=spa, specialty="oncology", on_date=TODAY)
        for_anyone = catalog.current_offers(spa=spa, on_date=TODAY)

    assert {offer.title for offer in for_ob_gyn} == {for_everyone.title, prenatal.title}
    assert for_oncology == [for_everyone]
    assert len(for_anyone) == 3


@freeze_time("2026-03-01 03:00:00+00:00")  # still Feb 28 in New York, already Mar 1 in Berlin
def test_current_offers_start_on_the_spas_own_calendar(spa, other_spa):
    spa.timezone = "America/New_York"
    spa.save(update_fields=["timezone"])
    other_spa.timezone = "Europe/Berlin"
    other_spa.save(update_fields=["timezone"])
    OfferFactory(spa=spa, title="March offer", valid_from=date(2026, 3, 1))
    berlin = OfferFactory(spa=other_spa, title="March offer", valid_from=date(2026, 3, 1))

    with scope(spa=spa):
        in_new_york = catalog.current_offers(spa=spa)
    with scope(spa=other_spa):
        in_berlin = catalog.current_offers(spa=other_spa)

    assert in_new_york == []
    assert in_berlin == [berlin]


def test_current_credentials_leave_out_expired_and_archived_ones(spa, other_spa):
    no_expiry = CredentialFactory(spa=spa, person="No expiry", expires_on=None)
    expires_today = CredentialFactory(spa=spa, person="Expires today", expires_on=TODAY)
    CredentialFactory(spa=spa, person="Expired yesterday", expires_on=TODAY - timedelta(days=1))
    archived = CredentialFactory(spa=spa, person="Archived", expires_on=TODAY + timedelta(days=300))
    CredentialFactory(spa=other_spa, person="Theirs", expires_on=None)

    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=archived, archived=True, actor=None)
        found = catalog.current_credentials(spa=spa, on_date=TODAY)

    assert {credential.person for credential in found} == {no_expiry.person, expires_today.person}


def test_the_credentials_list_marks_expired_ones(owner_client, spa):
    CredentialFactory(spa=spa, person="Lapsed Lee", expires_on=date(2020, 1, 1))

    page = owner_client.get(_list_url(spa, "credentials")).content.decode()

    assert "Lapsed Lee" in page
    assert "expired" in page


# --- the catalog and the team -------------------------------------------------------------------


def test_a_member_of_two_spas_edits_each_only_through_its_own_address(client_for, spa, other_spa):
    person = UserFactory()
    MembershipFactory(spa=spa, user=person, role=Role.MANAGER)
    MembershipFactory(spa=other_spa, user=person, role=Role.STAFF)
    client = client_for(person)
    ours = ServiceFactory(spa=spa)
    theirs = ServiceFactory(spa=other_spa)

    assert client.post(_archive_url(spa, "services", ours)).status_code == 302
    assert client.post(_archive_url(other_spa, "services", theirs)).status_code == 403
    assert client.post(_archive_url(spa, "services", theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.archived_at is None


def test_the_offers_list_says_when_each_offer_runs(owner_client, spa):
    OfferFactory(spa=spa, title="Open-ended")
    OfferFactory(spa=spa, title="Summer", valid_from=date(2026, 6, 1), valid_until=date(2026, 8, 31))
    OfferFactory(spa=spa, title="Until spring", valid_until=date(2030, 4, 30))

    page = owner_client.get(_list_url(spa, "offers")).content.decode()

    assert "No end date" in page
    assert "Jun 1, 2026 – Aug 31, 2026" in page
    assert "Until Apr 30, 2030" in page
