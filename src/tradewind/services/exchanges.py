"""The exchanges Tradewind trades on: one registry, in the shapes every API lists them.

Supported are Tradewind's own ``paper`` exchange and a curated set of CCXT exchanges (the
table below), not all of CCXT's hundred: each curated entry names its tier, where its API keys
are managed, and whether Tradewind has verified it. Everything else comes from CCXT's own
metadata (``describe()``): the name, documentation, whether it has a testnet, spot and
derivatives, and the credentials it needs (a passphrase, a private key).

- **tier 1**: the largest venues, the first a new feature is built against;
  **tier 2**: supported through CCXT's unified API like tier 1, with fewer users.
- **verified**: Tradewind's own tests run the exchange's client against a fake of that
  exchange's API (Binance spot today). The others go through the same CCXT code paths, but
  nobody here has checked them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradewind.domain.errors import NotFound
from tradewind.venues.ccxt import clients as exchange_clients

PAPER_ID = "paper"


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """One supported exchange."""

    id: str
    name: str
    tier: int
    requires_passphrase: bool
    requires_rsa: bool
    """The secret is a private key in PEM form (RSA, Ed25519 or ECDSA), not a shared HMAC
    secret."""
    has_testnet: bool
    has_futures: bool
    """Perpetual swaps or dated futures."""
    has_spot: bool
    has_margin: bool
    doc_url: str | None
    manage_url: str | None
    """Where a user creates and manages API keys on the exchange."""
    www_url: str | None
    verified: bool

    @property
    def haas_id(self) -> str:
        """The id HaasOnline's API names it by (``BINANCE``)."""
        return self.id.upper()

    def trynquant(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "tier": self.tier, "requires_passphrase": self.requires_passphrase,
            "requires_rsa": self.requires_rsa, "has_testnet": self.has_testnet, "has_futures": self.has_futures,
            "doc_url": self.doc_url, "manage_url": self.manage_url,
        }  # fmt: skip

    def haas(self) -> dict[str, Any]:
        return {"id": self.haas_id, "name": self.name, "isSpot": self.has_spot, "isLeverage": self.has_futures or self.has_margin}  # fmt: skip


PAPER = ExchangeInfo(
    id=PAPER_ID, name="Tradewind Paper", tier=1, requires_passphrase=False, requires_rsa=False,
    has_testnet=False, has_futures=True, has_spot=True, has_margin=False, doc_url="/docs",
    manage_url=None, www_url=None, verified=True,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Curated:
    tier: int
    manage_url: str | None
    verified: bool = False
    requires_rsa: bool | None = None
    """Overrides CCXT's ``requiredCredentials.privateKey`` where that does not say it."""


# The API-key pages are the exchanges' own; None where there is no stable address to give.
CURATED: Mapping[str, Curated] = {
    "binance": Curated(1, "https://www.binance.com/en/my/settings/api-management", verified=True),
    "bybit": Curated(1, "https://www.bybit.com/app/user/api-management"),
    "okx": Curated(1, "https://www.okx.com/account/my-api"),
    "kucoin": Curated(1, "https://www.kucoin.com/account/api"),
    "kraken": Curated(1, "https://pro.kraken.com/app/settings/api"),
    # Coinbase's current (CDP) API keys are an ECDSA private key, given whole as the secret.
    "coinbase": Curated(1, "https://portal.cdp.coinbase.com/", requires_rsa=True),
    "bitget": Curated(1, "https://www.bitget.com/account/newapi"),
    "gate": Curated(2, "https://www.gate.io/myaccount/apikeys"),
    "mexc": Curated(2, "https://www.mexc.com/user/openapi"),
    "htx": Curated(2, None),
    "bitfinex": Curated(2, "https://setting.bitfinex.com/api"),
    "kucoinfutures": Curated(2, "https://www.kucoin.com/account/api"),
    "krakenfutures": Curated(2, None),
    "cryptocom": Curated(2, None),
    "bingx": Curated(2, None),
}


def _url(value: Any) -> str | None:
    """CCXT gives a url as a string, a list of them, or a dict by purpose."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None


def from_ccxt(exchange_id: str, curated: Curated, described: Mapping[str, Any]) -> ExchangeInfo:
    """A registry entry from CCXT's description of the exchange and the curated facts."""
    urls = described.get("urls") or {}
    has = described.get("has") or {}
    needs = described.get("requiredCredentials") or {}
    return ExchangeInfo(
        id=exchange_id,
        name=str(described.get("name") or exchange_id),
        tier=curated.tier,
        requires_passphrase=bool(needs.get("password")),
        requires_rsa=(
            bool(needs.get("privateKey")) if curated.requires_rsa is None else curated.requires_rsa
        ),
        has_testnet=bool(urls.get("test")),
        has_futures=bool(has.get("swap") or has.get("future")),
        has_spot=bool(has.get("spot")),
        has_margin=bool(has.get("margin")),
        doc_url=_url(urls.get("doc")),
        manage_url=curated.manage_url,
        www_url=_url(urls.get("www")),
        verified=curated.verified,
    )


@functools.cache
def _registry() -> Mapping[str, ExchangeInfo]:
    known = exchange_clients.exchange_ids()
    entries = [
        from_ccxt(i, c, exchange_clients.describe(i)) for i, c in CURATED.items() if i in known
    ]
    entries.sort(key=lambda e: (e.tier, e.name.lower()))
    return {e.id: e for e in [PAPER, *entries]}


def supported() -> list[ExchangeInfo]:
    """Every supported exchange: ``paper`` first, then by tier and name."""
    return list(_registry().values())


def find(exchange_id: str) -> ExchangeInfo | None:
    """The exchange of an id, in Tradewind's spelling (``binance``) or HaasOnline's
    (``BINANCE``)."""
    return _registry().get(exchange_id.strip().lower())


def get(exchange_id: str) -> ExchangeInfo:
    info = find(exchange_id)
    if info is None:
        raise NotFound(f"exchange {exchange_id} is not supported")
    return info
