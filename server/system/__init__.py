"""Liveness and status endpoints."""
