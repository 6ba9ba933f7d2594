"""The partner practices: who the spa courts and works with.

``Practice``, ``Clinician``, ``OfficeContact``, ``ReferralCode``, tags and the pipeline (``StageChange``): the
list and board, duplicates and merge, CSV import and export. Higher apps add figures to the list and board
(``extensions``) and panels to a practice's page (``panels``) from their ``AppConfig.ready``.

May import: spas, infra, Django and libraries. Never referrals, outreach, insights or the project.
"""
