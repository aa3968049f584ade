"""HaasOnline bots of a user made with exchange keys trade on that exchange: created with the
document's body (no account named) they go to the trading account that came with the keys,
on FakeBinance through CCXT's own client, and every view names the user's exchange
(``exchangeId`` ``BINANCE``, markets ``BINANCE_BTC_USDT_``). A paper market, or a preview on
another exchange, is refused naming the field. (Paper users: ``test_haas_bots.py``.)"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.dialects.test_haas import BASE, ok
from tests.api.dialects.test_haas_backtests import BT, DOC_START, FINAL, JAN_2019
from tests.api.exchange import (  # the fixtures: on the fake exchange
    exchange_clients,  # noqa: F401
    settings_overrides,  # noqa: F401
    until,
)
from tests.api.v1.test_live_trading import ladder_rests, resting
from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.fakes.binance import FakeBinance
from tradewind.services import exchange_accounts

GRID = {
    "symbol": "BINANCE_BTC_USDT_", "lowerLimit": 49000, "upperLimit": 51000, "gridCount": 4,
    "investmentAsset": "Quote", "investmentAmount": 1000, "tradeToFillGrid": True,
}  # fmt: skip


async def binance_user(tw: Harness, fake: FakeBinance) -> tuple[dict[str, str], str]:
    """A partner's headers, and a user it made with the fake's keys."""
    h = {"Authorization": (await make_partner(tw))["auth"]}
    uid = ok(await tw.client.post(BASE + "/users/create", headers=h, json={
        "exchangeId": "BINANCE", "publicKey": fake.api_key, "secretKey": fake.secret,
        "extraKey": "", "exchangeUserId": "client-9",
    }))  # fmt: skip
    assert isinstance(uid, str)
    return h, uid


def refused(r: Any) -> str:
    body = r.json()
    assert r.status_code == 400 and body["isSuccess"] is False, body
    return str(body["message"])


class TestBotsOnTheUsersExchange:
    async def test_a_grid_is_created_on_the_exchange_and_shown_as_its(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h, uid = await binance_user(tw, fake)

        bot = ok(await tw.client.post(BASE + "/bots/create", headers=h, json={
            "userId": uid, "type": "spot_grid", "settings": GRID, "masterBotId": None,
        }))  # fmt: skip

        assert isinstance(bot, dict)
        assert (bot["exchangeId"], bot["status"], bot["type"]) == ("BINANCE", "active", "spot_grid")
        assert bot["settings"]["symbol"] == "BINANCE_BTC_USDT_"
        await until(ladder_rests(fake))  # on the exchange itself
        async with tw.runtime.sessions() as s:
            account = await exchange_accounts.user_trading_account(s, uid)
        assert account is not None and tw.runtime.venues.venue_of(account).name == "binance"
        assert not any(i.user_id == uid for i in tw.venue._accounts.values())  # no paper one

        listed = ok(await tw.client.post(BASE + "/bots/user", headers=h, json={"userId": uid}))
        assert [(b["botId"], b["exchangeId"]) for b in listed["items"]] == [  # type: ignore[index]
            (bot["botId"], "BINANCE")
        ]
        orders = ok(
            await tw.client.post(BASE + "/bots/orders", headers=h, json={"botId": bot["botId"]})
        )
        assert isinstance(orders, list)
        assert sorted((o["direction"], o["price"], o["market"]) for o in orders) == [
            ("BUY", 49000, "BINANCE_BTC_USDT_"), ("BUY", 49500, "BINANCE_BTC_USDT_"),
            ("BUY", 50000, "BINANCE_BTC_USDT_"), ("SELL", 51000, "BINANCE_BTC_USDT_"),
        ]  # fmt: skip

        ok(await tw.client.post(BASE + "/bots/stop", headers=h, json={"botId": bot["botId"]}))

        async def none_rest() -> bool:
            return resting(fake) == []

        await until(none_rest)

    async def test_a_paper_market_is_refused_naming_the_field_and_nothing_is_made(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h, uid = await binance_user(tw, fake)

        r = await tw.client.post(BASE + "/bots/create", headers=h, json={
            "userId": uid, "type": "spot_grid", "settings": {**GRID, "symbol": "PAPER_BTC_USDT_"},
        })  # fmt: skip

        assert refused(r) == (
            "settings.symbol: unknown market PAPER_BTC_USDT_ on BINANCE; "
            "see GET /compat/haas/markets"
        )
        listed = ok(await tw.client.post(BASE + "/bots/user", headers=h, json={"userId": uid}))
        assert listed["items"] == []  # type: ignore[index]
        assert fake.orders == []

    async def test_a_preview_is_of_the_users_exchange(self, tw: Harness, fake: FakeBinance) -> None:
        h, uid = await binance_user(tw, fake)
        body = {"userId": uid, "exchangeId": "BINANCE", "type": "spot_grid", "settings": GRID}

        preview = ok(await tw.client.post(BASE + "/bots/preview", headers=h, json=body))

        assert isinstance(preview, list)
        assert sorted((o["direction"], o["price"], o["market"]) for o in preview) == [
            ("BUY", 0, "BINANCE_BTC_USDT_"),  # the market buy filling the grid
            ("BUY", 49000, "BINANCE_BTC_USDT_"), ("BUY", 49500, "BINANCE_BTC_USDT_"),
            ("BUY", 50000, "BINANCE_BTC_USDT_"), ("SELL", 51000, "BINANCE_BTC_USDT_"),
        ]  # fmt: skip
        r = await tw.client.post(BASE + "/bots/preview", headers=h, json={
            **body, "exchangeId": "PAPER", "settings": {**GRID, "symbol": "PAPER_BTC_USDT_"},
        })  # fmt: skip
        assert refused(r) == "exchangeId: PAPER is not the user's exchange, BINANCE"
        assert fake.orders == []

    async def test_a_paper_bot_is_not_copied_to_an_exchange_user(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        """A copy trades on its source's exchange: refused naming the document's field."""
        h, binance = await binance_user(tw, fake)
        paper = ok(await tw.client.post(BASE + "/users/create", headers=h, json={
            "exchangeId": "PAPER", "publicKey": "sim", "secretKey": "unused",
        }))  # fmt: skip
        await tw.move("BTC/USDT", 6400)
        paper_grid = {**GRID, "symbol": "PAPER_BTC_USDT_", "lowerLimit": 6300, "upperLimit": 6500}
        bot = ok(await tw.client.post(BASE + "/bots/create", headers=h, json={
            "userId": paper, "type": "spot_grid", "settings": paper_grid,
        }))  # fmt: skip
        assert isinstance(bot, dict)

        r = await tw.client.post(BASE + "/bots/clone", headers=h, json={
            "userId": binance, "botId": bot["botId"], "followUpdates": False, "settings": {},
        })  # fmt: skip
        assert refused(r) == "userId: the bot trades on PAPER, the user on BINANCE"
        r = await tw.client.post(BASE + "/bots/create", headers=h, json={
            "userId": binance, "type": "spot_grid", "settings": {}, "masterBotId": bot["botId"],
        })  # fmt: skip
        assert refused(r) == "masterBotId: the bot trades on PAPER, the user on BINANCE"
        listed = ok(await tw.client.post(BASE + "/bots/user", headers=h, json={"userId": binance}))
        assert listed["items"] == []  # type: ignore[index]


class TestBacktestsOfAnExchangeUser:
    async def test_the_documents_example_runs_as_written_on_the_users_exchange(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        """The example names ``BINANCE``: that user's exchange. The run uses Tradewind's stored
        candles of the same pair (January 2019: the example's own month has none here)."""
        h, uid = await binance_user(tw, fake)
        example = {**DOC_START, "userId": uid} | JAN_2019

        started = ok(await tw.client.post(BASE + BT, headers=h, json=example))

        assert isinstance(started, dict) and started["backtestId"].startswith("bt_")
        job = started["backtestId"]
        for _ in range(1200):
            status = ok(await tw.client.get(f"{BASE}{BT}/{job}/status", headers=h))
            assert isinstance(status, dict)
            if status["state"] in FINAL:
                break
            await asyncio.sleep(0.05)
        assert status["state"] == "completed", status
        shorthand = {k: v for k, v in DOC_START["settings"].items() if k != "market"}
        for market in ({"symbol": "BINANCE_BTC_USDT_"}, {"market": "BINANCE:BTC-USDT"}):
            body = {**example, "settings": {**shorthand, **market}}
            ok(await tw.client.post(BASE + BT, headers=h, json=body))

    async def test_another_exchange_is_refused_naming_the_field(
        self, tw: Harness, fake: FakeBinance
    ) -> None:
        h, uid = await binance_user(tw, fake)
        example = {**DOC_START, "userId": uid} | JAN_2019

        r = await tw.client.post(BASE + BT, headers=h, json={**example, "exchangeId": "PAPER"})
        assert refused(r) == "exchangeId: must be the user's exchange, BINANCE"
        r = await tw.client.post(BASE + BT, headers=h, json={
            **example, "settings": {"market": "BYBIT:BTC-USDT", "grid_range": 5},
        })  # fmt: skip
        assert refused(r) == "settings.market: BYBIT is not the user's exchange (BINANCE)"
