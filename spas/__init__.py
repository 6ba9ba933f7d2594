"""Tenancy and the catalog: the floor every feature app stands on.

The tenant (``Spa``) and its people (``User``, ``Membership`` with roles, ``Invitation``), the tenancy middleware
and Celery task base that put every request and task inside one spa's scope (``tenancy``, with ``for_each_spa``),
row-level security that makes PostgreSQL enforce the same wall (``rls``), the service catalog and specialties
(``catalog``), the documents page, and ``dependents`` (hooks higher apps register to follow this floor's writes).

May import: infra, Django and libraries. Never partners, referrals, outreach, insights or the project.
"""
