"""The bottom floor: domain-free building blocks any app may import. Imports only Django and libraries, never
a feature app (spas, partners, referrals, outreach) nor the project package.

What lives here: PDF rendering behind the safe URL fetcher (``pdf``, ``text_measure``), CSV responses
(``csv_export``), the cache as an optimisation (``soft_cache``), the client's address (``client_ip``), the
security middleware (``security``), the health endpoint (``health``), error views (``errors``), SVG charts
(``charts``), the form renderer and shared form fields (``forms``), toasts (``toasts``), dates and phone numbers
for people (``templatetags``, ``phones``), text helpers (``text``) and the PostgreSQL backend (``postgresql``).
"""
