"""Sample URL parameter values for the tenancy walk, one builder per parameter name.

Each builder gets the spa under test and returns a value (usually a UUID of an object the spa
owns). When a later issue adds a workspace URL with a new parameter, add its builder here; the
walk fails loudly until it exists, so no view escapes the check.
"""

from django_scopes import scope

from tests.factories import InvitationFactory, MembershipFactory


def _member_id(spa):
    with scope(spa=spa):
        return MembershipFactory(spa=spa).public_id


def _invitation_id(spa):
    return InvitationFactory(spa=spa, email="walk-invitee@example.com").public_id


SAMPLE_BUILDERS = {
    "spa_slug": lambda spa: spa.slug,
    "member_id": _member_id,
    "invitation_id": _invitation_id,
}


def sample_values(spa):
    return {name: build(spa) for name, build in SAMPLE_BUILDERS.items()}


def secrets_of(spa):
    """Strings that must never appear in a page shown to someone outside ``spa``."""
    return [spa.name, spa.slug, spa.referral_email]
