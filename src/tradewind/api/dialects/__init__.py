"""Compatibility dialects: each seed product's API under /compat/<name>, thin over the services."""
