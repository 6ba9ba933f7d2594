"""The patient's signed links: one for the satisfaction question (and testimonial opt-in), one to opt out.

A link names one follow-up and one purpose, signed with Django's signing (its own salt) and good for
LINK_MAX_AGE after it was made; a tampered or foreign link does not verify, so a link can never act on another
referral. Nothing about the patient or their health is in the address: only the follow-up's public id.
"""

from datetime import timedelta

from django.core import signing

SALT = "referrals.followup.link"
LINK_MAX_AGE = timedelta(days=30)
FEEDBACK = "feedback"
STOP = "stop"
PURPOSES = (FEEDBACK, STOP)


class LinkExpired(Exception):
    """A genuine link, too old."""


class LinkInvalid(Exception):
    """Not one of our links (tampered, truncated, made for another purpose)."""


def make_link_token(follow_up, purpose):
    return signing.dumps({"f": str(follow_up.public_id), "p": purpose}, salt=SALT, compress=False)


def read_link_token(token, purpose):
    """The follow-up public id the token names for ``purpose``; raises LinkExpired or LinkInvalid."""
    try:
        data = signing.loads(token or "", salt=SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise LinkExpired from error
    except signing.BadSignature as error:
        raise LinkInvalid from error
    if not isinstance(data, dict) or data.get("p") != purpose or not isinstance(data.get("f"), str):
        raise LinkInvalid
    return data["f"]
