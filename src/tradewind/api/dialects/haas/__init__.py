"""The HaasOnline white-label API under /compat/haas."""
