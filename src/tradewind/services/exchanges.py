"""The exchanges Tradewind trades on, in the shapes the dialects list them.

Today that is the paper venue; the live-exchange issue fills this registry from CCXT's own
metadata plus a curated table (tier, passphrase, RSA keys, testnet, futures, links)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradewind.services.trading import Venues


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    id: str
    name: str
    tier: int
    requires_passphrase: bool
    requires_rsa: bool
    has_testnet: bool
    has_futures: bool
    has_spot: bool
    doc_url: str | None
    manage_url: str | None
    verified: bool

    def trynquant(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "tier": self.tier, "requires_passphrase": self.requires_passphrase,
            "requires_rsa": self.requires_rsa, "has_testnet": self.has_testnet, "has_futures": self.has_futures,
            "doc_url": self.doc_url, "manage_url": self.manage_url,
        }  # fmt: skip


PAPER = ExchangeInfo(
    id="paper", name="Tradewind Paper", tier=1, requires_passphrase=False, requires_rsa=False,
    has_testnet=False, has_futures=True, has_spot=True, doc_url="/docs", manage_url=None, verified=True,
)  # fmt: skip


def supported(venues: Venues) -> list[ExchangeInfo]:
    return [PAPER] if "paper" in venues.names else []


def pairs(venues: Venues, exchange: str) -> list[str]:
    """Symbols of an exchange, as ``BASE/QUOTE`` (perpetuals as ``BASE/QUOTE:SETTLE``)."""
    return sorted(venues.get(exchange).instruments)
