"""Tradewind: a self-hosted, multi-user trading-automation platform."""

__version__ = "0.1.0"
