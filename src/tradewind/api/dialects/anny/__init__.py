"""Anny's partner Signal API (``/compat/anny``): channel signals and their calls."""
