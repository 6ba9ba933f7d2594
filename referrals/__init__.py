"""Referrals: a patient sent by a practice, from the moment it arrives until the spa reports the outcome back.

The referral itself lives at the top level: its models, the lifecycle services, the inbox, the response
clock, attachments, the overdue job and the figures kept by every write. One room per way of working with it:
``intake`` (the landing page behind a pad's QR code, manual entry), ``portal`` (clinic staff), ``api`` (clinic
systems), ``pads``, ``consent``, ``outcomes`` and ``patient_rights``.

May import: partners, spas, infra, Django and libraries. Never outreach, insights or the project.
"""
