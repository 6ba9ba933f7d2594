"""The world the tenant matrix runs in: two spas full of sample objects, their people and API keys.

``home`` is the spa under attack; ``foreign`` is another spa whose people and ids are thrown at it.
Both are filled by the sample builders in samples.py, so every URL parameter has a value in each. The
foreign spa's texts are then renamed (``Walk…`` → ``Zqforeign…``) so that a foreign row showing up in one
of the home spa's pages is recognisable by name, not only by id.
"""

import re
import uuid
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db.models import CharField, TextField
from django.test import Client
from django_scopes import scope, scopes_disabled

from partners.models import Practice
from partners.services import referral_code_issue
from referrals.api.services import api_key_create, api_key_revoke
from referrals.models import PortalAccess, Referral
from spas.models import Invitation, Membership, Role, Spa
from tests.factories import (
    MembershipFactory,
    PortalAccessFactory,
    PortalInvitationFactory,
    PracticeFactory,
    SpaFactory,
    UserFactory,
)

from .samples import sample_values, secrets_of
from .tenancy_checks import tenant_models

FOREIGN_MARK = "Zqforeign"
SIBLING_PATIENT = "Siblingpatient"


@dataclass
class World:
    home: Spa
    foreign: Spa
    home_values: dict
    foreign_values: dict
    sibling_practice: Practice
    sibling_values: dict  # the sibling practice's own objects (its referral), by parameter name
    extras: dict  # "home" / "sibling" / "foreign" → ids that travel in bodies, tokens and codes of public pages
    people: dict  # actor name → User
    keys: dict  # key name → raw API key
    missing_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def client(self, actor, **headers):
        """A new client signed in as ``actor`` (``"anonymous"`` for none). Sessions live in the database, so a
        client is made per test: the test's rollback takes its session away."""
        client = Client(raise_request_exception=False, headers=headers or None)
        if actor != "anonymous":
            client.force_login(self.people[actor])
        return client

    def home_secrets(self):
        """Strings of the home spa that no outsider may see."""
        return [secret for secret in secrets_of(self.home) if secret]

    def home_practice_secrets(self):
        """Strings of the home spa's sample practice that clinic staff of its sibling practice may not see."""
        return ["Walk Sample Dermatology", "Walkpatient", "Walksample", "Walk sample observation"]

    def foreign_secrets(self):
        """Strings of the foreign spa that nobody in the home spa may see."""
        return [
            FOREIGN_MARK,
            FOREIGN_MARK.lower(),
            self.foreign.name,
            self.foreign.slug,
            self.foreign.referral_email,
            self.people["foreign_owner"].email,
            self.people["foreign_owner"].full_name,
            self.people["foreign_portal"].full_name,
        ]


def _rename_foreign_texts(spa):
    """Every text of the foreign spa that mentions the samples' "Walk" gets FOREIGN_MARK instead."""
    pattern = re.compile("walk", re.IGNORECASE)
    for model in tenant_models():
        text_fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, CharField | TextField)]
        if not text_fields:
            continue
        for row in model._base_manager.filter(spa=spa).values("pk", *text_fields):
            changes = {
                name: pattern.sub(FOREIGN_MARK, value)
                for name, value in row.items()
                if name != "pk" and isinstance(value, str) and pattern.search(value)
            }
            if changes:
                model._base_manager.filter(pk=row["pk"]).update(**changes)


def _store(field, instance, filename, content):
    """Save ``content`` where ``field`` would put an upload for ``instance``; returns the stored name."""
    return field.storage.save(field.generate_filename(instance, filename), ContentFile(content))


def _reachable(spa, values):
    """Make the samples that a page needs beyond existing (a file, a report, an enrollment) complete, so that
    with the spa's own ids every page answers for real and a 404 for a foreign id means something."""
    from infra.models import GeneratedDocument
    from outreach.models import Campaign, CampaignEnrollment, LetterBatch
    from outreach.models.activity import outreach_settings_for
    from outreach.objections.services import objection_library_ensure
    from referrals.consent.services import authorization_create
    from referrals.followup.links import FEEDBACK, make_link_token
    from referrals.models import PatientFollowUp
    from referrals.outcomes.services import outcome_report_save
    from spas.models import Service

    pdf, png = b"%PDF-1.4 matrix sample", b"\x89PNG\r\n\x1a\n matrix sample"
    with scope(spa=spa):
        practice = Practice.objects.get(spa=spa, name="Walk Sample Dermatology")
        referral = Referral.objects.get(spa=spa, public_id=values["referral_id"])
        file_field = GeneratedDocument._meta.get_field("file")
        thumbnail_field = GeneratedDocument._meta.get_field("thumbnail")
        document = GeneratedDocument.objects.get(spa=spa, public_id=values["document_id"])
        part = GeneratedDocument.objects.get(spa=spa, public_id=values["part_id"])
        for row in (document, part):
            GeneratedDocument.objects.filter(pk=row.pk).update(
                status="ready",
                file=_store(file_field, row, "matrix.pdf", pdf),
                thumbnail=_store(thumbnail_field, row, "matrix.png", png),
            )
        # A real kind and source, so "regenerate" has something to render.
        GeneratedDocument.objects.filter(pk=document.pk).update(
            kind="referral_pad", source_type="partners.Practice", source_id=str(practice.public_id)
        )
        attachment = Referral._meta.get_field("attachment")
        Referral.objects.filter(pk=referral.pk).update(
            attachment=_store(attachment, referral, "matrix.pdf", pdf), attachment_name="matrix.pdf"
        )
        authorization, consent_token = authorization_create(
            referral=referral, signature_method="typed", signer_name="Wanda Walkpatient"
        )
        values["authorization_id"] = authorization.public_id
        # A thank-you already sent, so its link opens the satisfaction question (issue 19 §3).
        follow_up = PatientFollowUp.objects.create(
            spa=spa, referral=referral, practice=referral.practice, state="sent", due_at=referral.received_at
        )
        outcome_report_save(
            referral=referral,
            author=Membership.objects.filter(spa=spa, role=Role.OWNER).first().user,
            services=[Service.objects.filter(spa=spa).first().public_id],
            sessions=1,
            observations="Walk sample observation",
            recommendations="",
            measures={},
        )
        campaign = Campaign.objects.get(spa=spa, public_id=values["campaign_id"])
        CampaignEnrollment.objects.get_or_create(spa=spa, campaign=campaign, practice=practice)
        assert LetterBatch.objects.filter(spa=spa, public_id=values["batch_id"]).exists()
        # Made on first read otherwise, and a GET would look like a write.
        outreach_settings_for(spa)
        objection_library_ensure(spa=spa)
        portal_invitation = PortalInvitationFactory(spa=spa, practice=practice, email=f"invitee@{spa.slug}.example")
        return {
            "code": referral_code_issue(spa=spa, practice=practice).code,
            "consent_token": consent_token,
            "follow_up_token": make_link_token(follow_up, FEEDBACK),
            "portal_invitation": str(portal_invitation.public_id),
            "portal_invitation_token": portal_invitation.token,
            "team_invitation_token": Invitation.objects.get(spa=spa, public_id=values["invitation_id"]).token,
        }


def _member(spa, role, email, full_name):
    return MembershipFactory(spa=spa, role=role, user=UserFactory(email=email, full_name=full_name)).user


def _portal_user(practice, email, full_name):
    user = UserFactory(email=email, full_name=full_name)
    with scope(spa=practice.spa):
        PortalAccessFactory(spa=practice.spa, practice=practice, user=user)
    return user


def _api_key(spa, practice, name, actor):
    with scope(spa=spa):
        api_key, raw_key = api_key_create(spa=spa, practice=practice, name=name, actor=actor)
    return api_key, raw_key


def build_world():
    home = SpaFactory(name="Matrix Home Spa", slug="matrix-home", referral_email="intake@matrix-home.example")
    foreign = SpaFactory(
        name="Matrix Foreign Spa", slug="matrix-foreign", referral_email="intake@matrix-foreign.example"
    )
    people = {
        "owner": _member(home, Role.OWNER, "hana.owner@matrix-home.example", "Hana Homeowner"),
        "manager": _member(home, Role.MANAGER, "milo.manager@matrix-home.example", "Milo Homemanager"),
        "staff": _member(home, Role.STAFF, "stan.staff@matrix-home.example", "Stan Homestaff"),
        "foreign_owner": _member(foreign, Role.OWNER, "fiona@matrix-foreign.example", "Fiona Foreignowner"),
    }
    home_values = sample_values(home)
    foreign_values = sample_values(foreign)
    extras = {"home": _reachable(home, home_values), "foreign": _reachable(foreign, foreign_values)}

    with scope(spa=home):
        home_practice = Practice.objects.get(spa=home, name="Walk Sample Dermatology")
        sibling = PracticeFactory(spa=home, name="Matrix Sibling Physio", specialty="physical_therapy")
    with scope(spa=foreign):
        foreign_practice = Practice.objects.get(spa=foreign, name="Walk Sample Dermatology")
    people["portal_home"] = _portal_user(home_practice, "pia@home-derm.example", "Pia Portalone")
    people["portal_sibling"] = _portal_user(sibling, "sid@sibling-physio.example", "Sid Siblingclinic")
    people["foreign_portal"] = _portal_user(foreign_practice, "fred@foreign-derm.example", "Fred Foreignclinic")
    with scopes_disabled():
        for name, actor in (("home", "portal_home"), ("sibling", "portal_sibling"), ("foreign", "foreign_portal")):
            extras.setdefault(name, {})["portal_access"] = str(PortalAccess.objects.get(user=people[actor]).public_id)

    from referrals.services import referral_create

    with scope(spa=home):
        sibling_referral = referral_create(
            spa=home,
            practice=sibling,
            channel="phone",
            consent_method="verbal",
            consent_captured_by="Matrix",
            notify=False,
            patient={"patient_first_name": "Sam", "patient_last_name": SIBLING_PATIENT, "patient_phone": "555-0101"},
        )

    keys = {}
    _key, keys["home"] = _api_key(home, home_practice, "Matrix home key", people["owner"])
    revoked, keys["revoked"] = _api_key(home, home_practice, "Matrix revoked key", people["owner"])
    with scope(spa=home):
        api_key_revoke(api_key=revoked, actor=people["owner"])
    _key, keys["sibling"] = _api_key(home, sibling, "Matrix sibling key", people["owner"])
    _key, keys["foreign"] = _api_key(foreign, foreign_practice, "Matrix foreign key", people["foreign_owner"])

    _rename_foreign_texts(foreign)
    foreign.refresh_from_db()
    with scope(spa=home):
        assert Referral.objects.filter(spa=home, practice=sibling).count() == 1
    return World(
        home=home,
        foreign=foreign,
        home_values=home_values,
        foreign_values=foreign_values,
        sibling_practice=sibling,
        sibling_values={"referral_id": sibling_referral.public_id},
        extras=extras,
        people=people,
        keys=keys,
    )
