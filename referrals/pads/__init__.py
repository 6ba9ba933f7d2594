"""Referral pads: the printed slips with a practice's QR code. The document kind (``documents.py``, which
also lends the logo and QR helpers to the other paper documents), the slip layout maths (``layout.py``),
the request (``services.py``) and the pages that ask for a pad (``views.py``, ``forms.py``, ``urls.py``,
``choose_urls.py``). It may import the referral core (``referrals.models``) and the lower apps (``spas``,
``partners``, ``infra``), never another room of ``referrals``.
"""
