"""Exports' REST side: create (202, rendered by the queue), read, list and download."""
