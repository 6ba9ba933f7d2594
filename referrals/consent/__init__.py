"""Patient authorizations (45 CFR 164.508(c)): the versioned wording, signing on the landing page or on
paper, revoking by link or at the desk, expiry, and the check that decides whether outcomes may be shared
(``selectors.sharing_authorization_for``). ``services.py`` writes, ``selectors.py`` reads; ``views.py``,
``forms.py`` and ``urls.py`` are the spa-side pages. It may import the referral core (``referrals.models``,
``referrals.services``, ``referrals.selectors``, the detail page's helpers in ``referrals.views``) and the
lower apps, never another room of ``referrals``; the other rooms import it.
"""
