"""Web hardening settings (imported at the end of base.py): headers, cookies, sessions, CSP, lockout."""
