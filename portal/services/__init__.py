"""Use cases: the only code that changes data. Services flush; callers commit once."""
