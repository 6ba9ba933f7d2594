"""The public JSON API and the keys that open it: the DRF views (``apis.py``), their serializers, key
authentication, throttling, error bodies and ``Idempotency-Key`` replay, plus the owners' pages that create
and revoke keys (``views.py``, ``forms.py``, ``key_urls.py``; ``services.py`` writes the keys). It may import
the referral core (``referrals.models``, ``referrals.services``, ``referrals.selectors``) and the lower apps
(``spas``, ``partners``, ``infra``), never another room of ``referrals`` nor its views.
"""
