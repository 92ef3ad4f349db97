"""Payer rules: CPT facts, the timed-code unit rules and the payer profiles that select them."""
