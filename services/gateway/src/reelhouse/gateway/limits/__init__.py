"""Per-owner limits: a submit rate (``429 rate_limited``) and a number of active jobs."""
