"""Patient follow-up after a completed referral: the schedule, the sender, the patient's signed links."""
