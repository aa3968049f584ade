"""The TrynQuant platform API under /compat/trynquant/api/v1."""
