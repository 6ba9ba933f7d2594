"""The partner portal: clinic staff of one practice follow their referrals, send new ones, add information or
withdraw one, and read the outcome reports delivered to them (``views.py``, ``forms.py``, ``urls.py``, under
/portal/<spa_slug>/); ``access.py`` is the one check that decides which practice a portal request works for
(``portal_view``). The spa's side — inviting clinic staff and revoking access — is ``admin_views.py`` and
``admin_urls.py`` (under a practice's page) with the panel's template tag in
``referrals.templatetags.portal_admin_tags``; the invitation link itself is ``invitation_urls.py``, included
in the ``public`` namespace. ``services.py`` writes, ``selectors.py`` reads. It may import the referral core
(``referrals.models``, ``referrals.services``, ``referrals.figures``, ``referrals.attachments``),
``referrals.intake`` (one-time form tokens, the error summary), ``referrals.consent`` (the authorization a
clinic attests), ``referrals.outcomes`` (the delivered reports) and the lower apps. The
practice page's panel (``referrals.templatetags.portal_admin_tags``) and the project's home page
(``insights.home``: which portals a person may use) import it.
"""
