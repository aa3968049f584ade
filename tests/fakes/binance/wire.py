"""The JSON Binance's spot REST API answers with, built from the fake's state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.fakes.binance.model import (
    FEE_RATE,
    Balance,
    Candle,
    Market,
    Order,
    OrderType,
    TickerStats,
    Trade,
    now_ms,
)

Json = dict[str, Any]
ORDER_TYPES = [t.value for t in OrderType]


def fmt(value: Decimal) -> str:
    return f"{value:.8f}"


def exchange_info(markets: list[Market]) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": now_ms(),
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol(m) for m in markets],
    }


def _symbol(m: Market) -> Json:
    return {
        "symbol": m.symbol,
        "status": "TRADING",
        "baseAsset": m.base,
        "baseAssetPrecision": 8,
        "quoteAsset": m.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(m.tick_size),
                "maxPrice": fmt(m.max_price),
                "tickSize": fmt(m.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(m.min_qty),
                "maxQty": fmt(m.max_qty),
                "stepSize": fmt(m.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(m.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def empty_exchange_info() -> Json:
    """What the futures APIs (fapi, dapi) answer here: no markets."""
    return {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": [], "exchangeFilters": [],
            "assets": [], "symbols": []}  # fmt: skip


def account(balances: dict[str, Balance]) -> Json:
    rate = fmt(FEE_RATE)
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": rate,
            "taker": rate,
            "buyer": fmt(Decimal(0)),
            "seller": fmt(Decimal(0)),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms(),
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": fmt(b.free), "locked": fmt(b.locked)}
            for asset, b in balances.items()
        ],
        "permissions": ["SPOT"],
        "uid": 354937868,
    }


def coins(assets: list[str], balances: dict[str, Balance]) -> list[Json]:
    """GET /sapi/v1/capital/config/getall: each asset with one network of its own name."""
    return [
        {
            "coin": asset,
            "name": asset,
            "depositAllEnable": True,
            "withdrawAllEnable": True,
            "free": fmt(balances[asset].free),
            "locked": fmt(balances[asset].locked),
            "isLegalMoney": False,
            "trading": True,
            "networkList": [
                {
                    "network": asset,
                    "coin": asset,
                    "name": asset,
                    "isDefault": True,
                    "depositEnable": True,
                    "withdrawEnable": True,
                    "withdrawFee": "0",
                    "withdrawMin": "0",
                    "withdrawMax": "9999999999",
                    "depositDust": "0",
                    "withdrawIntegerMultiple": "0.00000001",
                },
            ],
        }
        for asset in assets
    ]


def ticker_24hr(symbol: str, last: Decimal, stats: TickerStats) -> Json:
    change = last - stats.open
    closed = now_ms()
    return {
        "symbol": symbol,
        "priceChange": fmt(change),
        "priceChangePercent": f"{change / stats.open * 100:.3f}",
        "weightedAvgPrice": fmt(stats.quote_volume / stats.volume if stats.volume else last),
        "prevClosePrice": fmt(stats.open),
        "lastPrice": fmt(last),
        "lastQty": fmt(Decimal(0)),
        "bidPrice": fmt(last),
        "bidQty": "10.00000000",
        "askPrice": fmt(last),
        "askQty": "10.00000000",
        "openPrice": fmt(stats.open),
        "highPrice": fmt(stats.high),
        "lowPrice": fmt(stats.low),
        "volume": fmt(stats.volume),
        "quoteVolume": fmt(stats.quote_volume),
        "openTime": closed - 86_400_000,
        "closeTime": closed,
        "firstId": 0 if stats.count else -1,
        "lastId": stats.count - 1 if stats.count else -1,
        "count": stats.count,
    }


def book_ticker(symbol: str, last: Decimal) -> Json:
    return {"symbol": symbol, "bidPrice": fmt(last), "bidQty": "10.00000000",
            "askPrice": fmt(last), "askQty": "10.00000000"}  # fmt: skip


def kline(candle: Candle, width: int) -> list[Any]:
    return [
        candle.open_time, fmt(candle.open), fmt(candle.high), fmt(candle.low), fmt(candle.close),
        fmt(candle.volume), candle.open_time + width - 1, fmt(candle.volume * candle.close), 0,
        "0.00000000", "0.00000000", "0",
    ]  # fmt: skip


def order(o: Order) -> Json:
    """An order as GET /api/v3/order, openOrders and allOrders give it."""
    return {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "cummulativeQuoteQty": fmt(o.cummulative_quote_qty),
        "status": o.status.value,
        "timeInForce": o.time_in_force.value,
        "type": o.type.value,
        "side": o.side.value,
        "stopPrice": fmt(Decimal(0)),
        "icebergQty": fmt(Decimal(0)),
        "time": o.time,
        "updateTime": o.update_time,
        "isWorking": True,
        "workingTime": o.time,
        "origQuoteOrderQty": fmt(o.orig_quote_qty),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def new_order(o: Order, fills: list[Trade], resp_type: str) -> Json:
    """POST /api/v3/order's answer in the asked newOrderRespType (ACK, RESULT or FULL)."""
    ack: Json = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
                 "clientOrderId": o.client_order_id, "transactTime": o.update_time}  # fmt: skip
    if resp_type == "ACK":
        return ack
    result = {
        **ack,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "origQuoteOrderQty": fmt(o.orig_quote_qty),
        "cummulativeQuoteQty": fmt(o.cummulative_quote_qty),
        "status": o.status.value,
        "timeInForce": o.time_in_force.value,
        "type": o.type.value,
        "side": o.side.value,
        "workingTime": o.time,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    if resp_type == "RESULT":
        return result
    return {**result, "fills": [
        {"price": fmt(t.price), "qty": fmt(t.qty), "commission": fmt(t.commission),
         "commissionAsset": t.commission_asset, "tradeId": t.trade_id}
        for t in fills
    ]}  # fmt: skip


def cancelled(o: Order, cancel_client_order_id: str) -> Json:
    """DELETE /api/v3/order's answer: clientOrderId is the cancel request's own id."""
    return {
        "symbol": o.symbol,
        "origClientOrderId": o.client_order_id,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_order_id,
        "transactTime": o.update_time,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "origQuoteOrderQty": fmt(o.orig_quote_qty),
        "cummulativeQuoteQty": fmt(o.cummulative_quote_qty),
        "status": o.status.value,
        "timeInForce": o.time_in_force.value,
        "type": o.type.value,
        "side": o.side.value,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def my_trade(t: Trade) -> Json:
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "orderListId": -1,
        "price": fmt(t.price),
        "qty": fmt(t.qty),
        "quoteQty": fmt(t.quote_qty),
        "commission": fmt(t.commission),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "isBuyer": t.side.value == "BUY",
        "isMaker": t.is_maker,
        "isBestMatch": True,
    }
