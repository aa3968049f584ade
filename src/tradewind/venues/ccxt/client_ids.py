"""The client order id an exchange sees for one of our orders.

Inside Tradewind a bot's order is named ``<bot_id>:<seq>`` (its re-arms ``:r<n>``, its bracket
legs ``:sl``/``:tp``), a client's by the ``client_order_id`` it chose: too long, and with a
character exchanges refuse (Binance takes ``^[a-zA-Z0-9-_]{1,36}$``). The exchange gets ``tw``
and 30 characters of the URL-safe base64 of the SHA-256 of the Tradewind account, the name and
the generation: deterministic, so a retry, a restart or a re-run pending operation sends the
same id and finds the order placed before; the same order never maps to two ids, and two to one
only with negligible odds (180 bits). The hash is one-way: the venue keeps the mapping (it
knows every order it sent, and stores the id each was sent under).

The account is part of the id because names are chosen by bots and users, not by the venue:
the same exchange keys added as two Tradewind accounts (of one user or two) trade one exchange
account, where two orders named ``bot_a:1`` would share a client id; the exchange would refuse
the second as a duplicate, or a lookup by client id would take the other account's order for
its own.

An amended order is cancelled and placed again on the exchange under a new id: ``generation``
counts the replacements (0: the first placement).

``legacy_client_id`` is the id of earlier versions (from the name alone): an order sent under
one is found by the id stored with it (``store.Sent``), never by recomputing it.
"""

from __future__ import annotations

import base64
import hashlib
import json

PREFIX = "tw"
LENGTH = 32


def exchange_client_id(name: str, generation: int = 0, *, account_id: str) -> str:
    """``tw`` + 30 characters from ``[A-Za-z0-9_-]`` for the order named ``name`` of the
    Tradewind account ``account_id``."""
    key = json.dumps([account_id, name, generation], separators=(",", ":"))
    return _shaped(key)


def legacy_client_id(name: str, generation: int = 0) -> str:
    """The id earlier versions sent the order named ``name`` under (any account): only for an
    order stored without the id it was sent under."""
    return _shaped(name if generation == 0 else f"{name}#{generation}")


def _shaped(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return PREFIX + base64.urlsafe_b64encode(digest).decode()[: LENGTH - len(PREFIX)]


def is_ours(client_id: str | None) -> bool:
    """An exchange order that Tradewind placed (or one that merely looks like it)."""
    return (
        bool(client_id) and len(client_id or "") == LENGTH and (client_id or "").startswith(PREFIX)
    )
