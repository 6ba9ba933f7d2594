"""Signed outgoing webhooks: clinic systems are told when a referral moves.

Owners register endpoints per spa (``services.py``: a URL, the events it wants, a Standard Webhooks secret shown
once); the referral core and the outcome delivery record each event in the transaction that causes it
(``events.webhook_event_record``: one ``WebhookDelivery`` row per subscribed endpoint, the outbox); a Celery
drain and a beat sweep deliver the rows (``delivery.py``, ``tasks.py``), signed (``signing.py``), to addresses
checked against server-side request forgery at save and again at delivery (``addresses.py``), over a connection
pinned to the address that was checked (``transport.py``). Payloads carry ids and status (``payloads.py``);
patient details only for the referring practice's own endpoint while the patient's authorization covers it.
``selectors.py`` reads; ``views.py``, ``forms.py`` and ``urls.py`` are the owners' pages under Settings →
Webhooks; ``schema.py`` documents the payloads in the OpenAPI document.

It may import the referral core's models, ``referrals.consent`` (the sharing rule) and the lower apps; the
referral core (``referrals.services``) and ``referrals.outcomes`` import ``events`` to record what happened.
"""
