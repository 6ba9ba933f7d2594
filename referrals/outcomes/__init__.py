"""Outcome reports: what the spa writes after treating a referred patient, shared with the referring office
only while the patient's authorization allows it. ``services.py`` writes (draft, share, the expiry run),
``delivery.py`` delivers a shared version and holds the Celery task that runs it, ``selectors.py`` reads
(the delivered snapshot, the portal's list), ``measures.py`` is the per-specialty measures, ``documents.py``
the PDF document kind; ``views.py``, ``forms.py`` and ``urls.py`` are the spa's pages. It may import the
referral core, ``referrals.consent`` (the sharing rule), ``referrals.pads.documents`` (logo and colour
helpers) and the lower apps; ``referrals.portal`` and ``referrals.patient_rights`` import it.
"""
