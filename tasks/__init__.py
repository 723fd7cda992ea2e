"""The worker's entry point, at the top like ``server/app.py``: it may import ``server``."""
