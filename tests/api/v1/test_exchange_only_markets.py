"""A market only the exchange has (SOL/USDT on the fake Binance; the paper venue has none):
a partner's signal reaches a subscriber trading it on an exchange account, priced by the
exchange (polled once when it was not watched), and a TradingView alert naming it reaches a
webhook bot there."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from tests.api.exchange import (  # the fixtures: on the fake exchange
    exchange_account,
    exchange_clients,  # noqa: F401
    settings_overrides,  # noqa: F401
    until,
)
from tests.api.v1.test_channels import channel, h, subscribe
from tests.api.v1.test_users import make_partner
from tests.conftest import Harness
from tests.fakes.binance import DEFAULT_MARKETS, FakeBinance, Market
from tests.helpers import key_auth, new_key, new_user

SOL = "SOL/USDT"
# at 150: both entries rest below it
SIGNAL = {
    "symbol": SOL, "side": "buy", "entry_low": 140, "entry_high": 145,
    "entries": [{"price": 145, "share": 50}, {"price": 140, "share": 50}],
    "take_profits": [{"price": 160, "share": 100}], "stop_loss": 130, "leverage": 1,
}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    """The fake Binance with SOL/USDT besides its own markets, at 150."""
    sol = Market("SOL", "USDT", price=D(150), tick_size=D("0.01"), step_size=D("0.01"),
                 min_qty=D("0.01"), min_notional=D(5))  # fmt: skip
    with FakeBinance(markets=(*DEFAULT_MARKETS, sol)) as fake:
        yield fake


async def test_a_subscriber_on_an_exchange_gets_its_entries_on_the_exchange(
    tw: Harness, fake: FakeBinance
) -> None:
    assert SOL not in tw.runtime.venues.paper.instruments
    partner = await make_partner(tw)
    cid = await channel(tw, partner)
    user = await new_user(tw.client)
    account_id = await exchange_account(tw.client, h(user), fake)
    r = await subscribe(tw, user, cid, amount=200, account_id=account_id)
    assert r.status_code == 201, r.text

    r = await tw.client.post(
        "/compat/anny/v2/signal",
        json=SIGNAL,
        headers=key_auth(await new_key(tw.client, partner["auth"])),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["payload"]["subscribers"], r.json()["payload"]["failed"]) == (1, 0)

    async def entries_rest() -> bool:
        return sorted((o.side.value, o.price) for o in fake.orders if o.is_open) == [
            ("BUY", D(140)), ("BUY", D(145)),
        ]  # fmt: skip

    await until(entries_rest)
    body = (await tw.client.get("/api/v1/smart-trades", headers=h(user))).json()
    assert body["failed"] == []
    [trade] = body["data"]
    assert (trade["status"], trade["phase"], trade["symbol"]) == ("active", "open", SOL)


async def test_a_tradingview_alert_on_a_market_only_the_exchange_has_reaches_its_bot(
    tw: Harness, fake: FakeBinance
) -> None:
    """The alert's ``SOLUSDT`` is read against the markets of every connected venue, not the
    paper venue's only (it was refused as an unknown market)."""
    user = await new_user(tw.client)
    account_id = await exchange_account(tw.client, h(user), fake)
    r = await tw.client.post("/api/v1/bots", headers=h(user), json={
        "type": "webhook", "name": "alerts", "account_id": account_id,
        "settings": {"symbol": SOL, "signalToken": "sol-token"},
    })  # fmt: skip
    assert r.status_code == 201, r.text
    bot_id = r.json()["bot_id"]
    assert (
        await tw.client.post(f"/api/v1/bots/{bot_id}/start", headers=h(user))
    ).status_code == 200
    hook = (await tw.client.post(f"/api/v1/bots/{bot_id}/hook", headers=h(user))).json()

    r = await tw.client.post(
        hook["url"], json={"action": "buy", "quantity": 1, "symbol": "SOLUSDT"}
    )

    assert r.status_code == 201 and r.json()["executed"], r.text
    assert [(o.symbol, o.side.value, o.orig_qty) for o in fake.orders] == [("SOLUSDT", "BUY", D(1))]
