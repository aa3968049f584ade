"""The Quantarya dialect (trade journal) under ``/compat/quantarya``."""
