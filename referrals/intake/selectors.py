"""Reads for the landing page: the code a patient types or scans, as stored, and the referral code behind it."""

from django_scopes import scopes_disabled

from partners.models import ReferralCode


def normalized_code(typed):
    """A code as a patient types it ("km7 qxz", "KM7-QXZ") as codes are stored, or "" when it cannot be one."""
    code = "".join(character for character in (typed or "") if not character.isspace() and character != "-").upper()
    if not code or not code.isascii() or not code.isalnum():
        return ""
    if len(code) > ReferralCode._meta.get_field("code").max_length:
        return ""
    return code


def referral_code_resolve(code):
    """The practice or clinician code typed at /r/<code>, case-insensitively, whatever spa owns it; or None.

    Codes are unique across spas and always stored upper-case, so the lookup stays an indexed exact match.
    """
    code = (code or "").strip().upper()
    if not code or len(code) > ReferralCode._meta.get_field("code").max_length:
        return None
    with scopes_disabled():
        return ReferralCode.objects.select_related("spa", "practice", "clinician").filter(code=code).first()
