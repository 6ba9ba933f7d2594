"""Intake: how referrals come in other than through the API. The patient's landing page behind a referral
pad's QR code (``public_views.py``, ``public_urls.py``: the ``public`` namespace, with its per-client
``limits.py``), the spa's manual entry (``views.py``, mounted in the ``referrals`` namespace by
``referrals/urls.py``), their forms (``forms.py``) and the one-time token that makes every referral form
create one referral however often it is posted (``submissions.py``). ``services.py`` writes, ``selectors.py``
reads. It may import the referral core (``referrals.models``, ``referrals.services``, ``referrals.attachments``,
``referrals.views``' ``in_spa_timezone``), ``referrals.consent`` (the authorization signed on the landing page
and the patient's link that revokes it) and the lower apps; ``referrals.portal`` imports it (submission
tokens, the error summary), never the other way round, and so do the core's ``urls.py`` (manual entry) and
``tasks.py`` (the token purge).
"""
