"""The client order id an exchange sees for one of our orders.

Inside Tradewind a bot's order is named ``<bot_id>:<seq>`` (its re-arms ``:r<n>``, its bracket
legs ``:sl``/``:tp``): too long, and with a character exchanges refuse (Binance takes
``^[a-zA-Z0-9-_]{1,36}$``). The exchange gets ``tw`` and 30 characters of the URL-safe base64
of the name's SHA-256: deterministic, so a retry, a restart or a re-run pending operation sends
the same id and finds the order placed before; the same name never maps to two ids, and two
names to one only with negligible odds (180 bits). The hash is one-way: the venue keeps the
mapping (it knows every order it sent).

An amended order is cancelled and placed again on the exchange under a new id: ``generation``
counts the replacements (0: the first placement).
"""

from __future__ import annotations

import base64
import hashlib

PREFIX = "tw"
LENGTH = 32


def exchange_client_id(name: str, generation: int = 0) -> str:
    """``tw`` + 30 characters from ``[A-Za-z0-9_-]`` for the order named ``name``."""
    key = name if generation == 0 else f"{name}#{generation}"
    digest = hashlib.sha256(key.encode()).digest()
    return PREFIX + base64.urlsafe_b64encode(digest).decode()[: LENGTH - len(PREFIX)]


def is_ours(client_id: str | None) -> bool:
    """An exchange order that Tradewind placed (or one that merely looks like it)."""
    return (
        bool(client_id) and len(client_id or "") == LENGTH and (client_id or "").startswith(PREFIX)
    )
