"""The Tradyn Terminal REST API under /compat/tradyn/v1 (MetaTrader-style, lots and tickets)."""
