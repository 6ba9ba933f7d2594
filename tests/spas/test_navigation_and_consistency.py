"""Issue 21 §11: Reports in the main navigation; the documents page creates and filters; campaign letters in
"Recent letter batches"; the settings tabs look like every other tab set; the sole owner's Remove is disabled
with the reason shown."""

import re

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra import documents
from infra.models import GeneratedDocument
from outreach.campaigns import services as campaigns
from outreach.letters.selectors import recent_letter_sends
from referrals.pads.services import referral_pad_request
from spas.models import Role

from ..factories import LetterTemplateFactory, MembershipFactory, PracticeFactory, UserFactory


def _nav(response):
    return re.search(r'<nav class="navbar.*?</nav>', response.content.decode(), re.S).group(0)


# --- navigation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "shown"), [(Role.OWNER, True), (Role.MANAGER, True), (Role.STAFF, False)])
def test_reports_is_in_the_main_navigation_for_those_who_may_read_it(spa, client_for, role, shown):
    member = MembershipFactory(spa=spa, role=role, user=UserFactory()).user
    response = client_for(member).get(reverse("insights:dashboard", args=[spa.slug]))

    assert (reverse("reports:index", args=[spa.slug]) in _nav(response)) is shown


def test_the_reports_link_is_marked_current_on_the_reports_page(spa, owner_client):
    nav = _nav(owner_client.get(reverse("reports:index", args=[spa.slug])))

    assert re.search(r'<a class="nav-link active" aria-current="page" href="/s/serene-test/reports/"', nav)


# --- the documents page ----------------------------------------------------------------------------------------


@pytest.fixture
def practices(spa):
    with scope(spa=spa):
        return {
            "glow": PracticeFactory(spa=spa, name="Glow Dermatology", stage="active"),
            "calm": PracticeFactory(spa=spa, name="Calm Physical Therapy", stage="trial"),
            "new": PracticeFactory(spa=spa, name="Prospect Clinic", stage="prospect"),
        }


def _pad(spa, owner, practice):
    with scope(spa=spa):
        return referral_pad_request(spa=spa, practice=practice, requested_by=owner, paper="letter", pages=1)


def test_the_documents_page_offers_a_pad_a_leave_behind_and_a_letter(spa, owner_client):
    page = owner_client.get(reverse("documents:list", args=[spa.slug])).content.decode()

    assert "New document" in page
    for url_name in ("pad_choose:choose", "outreach:leave_behind", "outreach:send"):
        assert f'href="{reverse(url_name, args=[spa.slug])}"' in page, url_name


def test_a_pad_made_from_a_practice_is_about_that_practice(spa, owner, practices):
    document = _pad(spa, owner, practices["glow"])

    assert (document.subject_id, document.subject_label) == (str(practices["glow"].public_id), "Glow Dermatology")


def test_the_documents_page_filters_by_practice_and_kind(spa, owner, owner_client, practices):
    _pad(spa, owner, practices["glow"])
    _pad(spa, owner, practices["calm"])
    url = reverse("documents:list", args=[spa.slug])

    by_practice = owner_client.get(url, {"subject": str(practices["glow"].public_id)}).content.decode()
    by_kind = owner_client.get(url, {"kind": "letter"}).content.decode()
    everything = owner_client.get(url).content.decode()

    assert "Glow Dermatology" in by_practice and "Calm Physical Therapy</div>" not in by_practice
    assert "No documents match these filters." in by_kind
    assert everything.count("Referral pad") >= 2
    # The practice filter offers exactly the practices that have documents.
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', everything)
    assert ("", "All practices") in options
    assert (str(practices["glow"].public_id), "Glow Dermatology") in options
    assert all(label != "Prospect Clinic" for _value, label in options)


def test_a_garbage_filter_shows_everything_rather_than_failing(spa, owner, owner_client, practices):
    _pad(spa, owner, practices["glow"])

    response = owner_client.get(reverse("documents:list", args=[spa.slug]), {"kind": "<script>", "subject": "x" * 500})

    assert response.status_code == 200
    assert "Glow Dermatology" in response.content.decode()


def test_another_spas_documents_are_not_offered_as_a_filter(spa, other_spa, owner_client, practices):
    with scope(spa=other_spa):
        theirs = PracticeFactory(spa=other_spa, name="Outsider Skin", stage="active")
        referral_pad_request(spa=other_spa, practice=theirs, requested_by=None, paper="letter", pages=1)

    page = owner_client.get(reverse("documents:list", args=[spa.slug]), {"subject": str(theirs.public_id)})

    assert "Outsider Skin" not in page.content.decode()


def test_the_pad_page_offers_practices_that_refer_and_leads_to_their_pad_form(spa, owner_client, practices):
    url = reverse("pad_choose:choose", args=[spa.slug])
    page = owner_client.get(url).content.decode()

    assert "Glow Dermatology" in page and "Calm Physical Therapy" in page
    assert "Prospect Clinic" not in page

    response = owner_client.get(url, {"practice": str(practices["glow"].public_id)})

    assert response.status_code == 302
    assert response["Location"] == reverse("pads:request", args=[spa.slug, practices["glow"].public_id])


def test_the_pad_page_refuses_another_spas_practice_beside_the_field(spa, other_spa, owner_client, practices):
    with scope(spa=other_spa):
        theirs = PracticeFactory(spa=other_spa, stage="active")

    response = owner_client.get(reverse("pad_choose:choose", args=[spa.slug]), {"practice": str(theirs.public_id)})

    assert response.status_code == 400
    assert 'id="id_practice_error"' in response.content.decode()


def test_the_pad_page_is_ours_only(spa, outsider_client, client, practices):
    url = reverse("pad_choose:choose", args=[spa.slug])

    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page


def test_existing_documents_get_their_practice_by_the_migration(spa, owner, practices):
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    document = _pad(spa, owner, practices["calm"])
    with scopes_disabled():
        GeneratedDocument.objects.filter(pk=document.pk).update(subject_id="", subject_label="")

    # The migration's own view of the models (GeneratedDocument was spas' then; infra's since issue 16).
    apps = MigrationLoader(connection).project_state(("referrals", "0010_document_subjects")).apps
    import_module("referrals.migrations.0010_document_subjects").fill_subjects(apps, None)

    with scopes_disabled():
        document.refresh_from_db()
    assert (document.subject_id, document.subject_label) == (str(practices["calm"].public_id), "Calm Physical Therapy")


def test_every_registered_creator_resolves(spa):
    urls = [url for _creator, url in documents.creators_for(spa.slug)]

    assert len(urls) == len(set(urls)) >= 3


# --- letters ---------------------------------------------------------------------------------------------------


def test_campaign_letters_count_in_recent_letter_batches(spa, owner, manager_user, owner_client):
    with scope(spa=spa):
        PracticeFactory(spa=spa, name="Alpha Dermatology", specialty="dermatology", stage="researched")
        PracticeFactory(spa=spa, name="Beta Skin", specialty="dermatology", stage="researched")
        letter = LetterTemplateFactory(spa=spa, name="Spring introduction")
        campaigns.campaign_save(
            spa=spa,
            actor=manager_user,
            fields={"name": "Meet the dermatologists", "description": "", "owner": None},
            segment={"specialty": "dermatology", "stage": "researched"},
            steps=[{"kind": "letter", "title": "", "days_after_previous": 0, "letter_template": letter}],
            launch=True,
        )
        sends = recent_letter_sends(spa=spa)

    assert [(send.title, send.practice_count) for send in sends] == [("Spring introduction", 2)]
    page = owner_client.get(reverse("outreach:index", args=[spa.slug])).content.decode()
    assert "Spring introduction" in page
    assert "Campaign “Meet the dermatologists”" in page
    assert "2 practices" in page


# --- settings tabs and the team ----------------------------------------------------------------------------------


def test_settings_tabs_use_the_house_tab_style(spa, owner_client):
    page = owner_client.get(reverse("spas:settings", args=[spa.slug])).content.decode()

    assert '<ul class="nav nav-pills small flex-nowrap overflow-auto section-tabs">' in page


def test_the_sole_owners_remove_is_disabled_with_the_reason(spa, owner, owner_client, staff_user):
    page = owner_client.get(reverse("spas:team", args=[spa.slug])).content.decode()

    owner_row = re.search(r'<tr data-member="owner@serene.example">.*?</tr>', page, re.S).group(0)
    staff_row = re.search(r'<tr data-member="staff@serene.example">.*?</tr>', page, re.S).group(0)
    assert "disabled" in owner_row
    assert "The only owner can't be removed. Make someone else an owner first." in owner_row
    assert "member_remove" not in owner_row and "/remove/" not in owner_row
    assert "disabled" not in staff_row


def test_with_two_owners_either_can_be_removed(spa, owner, owner_client):
    MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="second@serene.example"))

    page = owner_client.get(reverse("spas:team", args=[spa.slug])).content.decode()

    assert "The only owner" not in page
