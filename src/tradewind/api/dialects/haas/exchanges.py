"""HaasOnline's views of the exchange registry and of an exchange's cached markets.

An exchange is named by its registry id in capitals (``BINANCE``); Tradewind's own is
``PAPER``. One entry per exchange, with ``isSpot`` and ``isLeverage`` both true where it has
both (HaasOnline splits some exchanges in two, ``BITMEXSPOT`` and ``BITMEX``; Tradewind's
accounts hold spot and derivatives together). A market's symbol is the document's
``EXCHANGE_BASE_QUOTE_CONTRACT``: the contract part empty for spot, else the exchange's own
symbol (``BINANCE_BTC_USDT_``, ``BYBIT_BTC_USDT_BTCUSDT``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.services.exchange_accounts import CredentialFields
from tradewind.services.exchanges import ExchangeInfo
from tradewind.services.markets import Market, MarketsSnapshot

FIELDS = CredentialFields("exchangeId", "publicKey", "secretKey", "extraKey")
"""The document's names for the exchange, key, secret and passphrase, named in its refusals."""

UNKNOWN_DECIMALS = 8
"""Decimals shown where an exchange gives none (precision in significant digits)."""


def haas_symbol(exchange: ExchangeInfo, m: Market) -> str:
    contract = m.exchange_symbol if m.is_derivative else ""
    return f"{exchange.haas_id}_{m.base}_{m.quote}_{contract}"


def market_view(exchange: ExchangeInfo, m: Market, timestamp: int) -> dict[str, Any]:
    unit_contracts = m.contract_size in (None, Decimal(1))
    return {
        "exchangeId": exchange.haas_id, "name": f"{m.base}/{m.quote} {m.exchange_symbol}",
        "fullName": f"{exchange.name} {m.exchange_symbol}", "symbol": haas_symbol(exchange, m),
        "exchangeSymbol": m.exchange_symbol, "baseCurrency": m.base, "quoteCurrency": m.quote,
        "priceDecimals": UNKNOWN_DECIMALS if m.price_decimals is None else m.price_decimals,
        "amountDecimals": UNKNOWN_DECIMALS if m.amount_decimals is None else m.amount_decimals,
        "minimumTradeAmount": float(m.min_amount or 0), "minimumTradeVolume": float(m.min_notional or 0),
        "amountLabel": m.base if not m.is_derivative or unit_contracts else "Contract(s)",
        "profitLabel": m.settle or m.quote, "isSpot": not m.is_derivative,
        "isLeverage": m.is_derivative, "isOpen": m.active, "timestamp": timestamp,
    }  # fmt: skip


def markets_view(exchange: ExchangeInfo, snapshot: MarketsSnapshot) -> list[dict[str, Any]]:
    """``timestamp``: when the markets were loaded from the exchange."""
    loaded = int(snapshot.fetched_at.timestamp())
    return [market_view(exchange, m, loaded) for m in snapshot.markets]
