"""A patient's rights over their data: find their referrals (``selectors.py``), export them or erase them on
request, and the nightly retention purge of closed referrals' health fields (``services.py``); ``views.py``,
``forms.py`` and ``urls.py`` are the owner's page for it. It may import the referral core (including the detail
page's helpers in ``referrals.views``), ``referrals.outcomes`` (what a delivered report said) and the lower
apps; no other room imports it.
"""
