"""The bottom floor: the platform every app builds on. Imports only Django and libraries, never a feature app
(spas, partners, referrals, outreach, insights) nor the project package; where a row must point at the tenant
it names it by setting (``settings.TENANT_MODEL``), as auth names its user.

The platform's rows and their services: the shape of a tenant row (``tenant_models``: ``TenantModel``,
``PublicId``, ``CreatedAt``), the audit trail (``models.AuditEvent``, ``audit``: ``audit_record`` and the audit
origin set per request and task), the email outbox (``models.OutgoingEmail``, ``outbox``, ``email_context``,
``email_backends``) and generated documents (``models.GeneratedDocument``, ``documents``: the kind registry,
request and renderer), their Celery tasks (``tasks``) and queueing by name (``task_queue``).

Building blocks: PDF rendering behind the safe URL fetcher (``pdf``, ``text_measure``), CSV responses
(``csv_export``), the cache as an optimisation (``soft_cache``), the client's address (``client_ip``), the
security middleware (``security``), the health endpoint (``health``), error views (``errors``), SVG charts
(``charts``), the form renderer and shared form fields (``forms``), toasts (``toasts``), dates and phone numbers
for people (``templatetags``, ``phones``), text helpers (``text``) and the PostgreSQL backend (``postgresql``).
"""
