"""Accounts: registration, login, token rotation, and user administration."""
