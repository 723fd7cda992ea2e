"""Administration: the audit trail (and, with the providers, profiles, config and usage)."""
