"""Referrals by email and text: clinics that "just email or text us a patient's name".

A message that reaches the spa's referral address (``<slug>@<INBOUND_DOMAIN>``, through a provider's signed
inbound-parse webhook or ``manage.py inbound_email_load``) or its text number (a Twilio-shaped signed webhook)
becomes a *draft* (``InboundReferralDraft``), never a referral: nothing reaches the patient and nobody is told of
a new referral until a person at the spa reads it, completes the manual-entry form it pre-fills and confirms. A
discarded draft keeps a row without its content, so a provider's retry of the same message creates nothing.

Modules: ``models`` (the draft, its attachments, the seen webhook signatures), ``mime`` (reading a raw message),
``signatures`` (the two webhook signature schemes), ``selectors`` (which spa, which sender, the lists),
``guesses`` (a patient's details only where a message labels them), ``services`` (every write), ``webhooks``
(the two public endpoints), ``views``/``forms`` (the spa's pages), ``openapi`` (the endpoints in the schema).
"""
