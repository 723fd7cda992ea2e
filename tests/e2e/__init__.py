"""Browser tests in a real Chromium."""
