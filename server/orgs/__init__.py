"""Organisations: teams isolated from one another, their members, settings and budgets."""
