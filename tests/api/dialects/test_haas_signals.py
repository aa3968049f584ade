"""HaasOnline dialect, signals: the document's send and get examples as written reach every
webhook bot of the partner's users listening on the token, once; the refusals (missing
fields, wrong types, an uppercase action, a stale signal, a token nobody of this partner
listens on) name their reason, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.dialects.test_haas_bots import Haas, partner
from tests.conftest import Harness
from tests.helpers import new_user
from tradewind.store.tables import OrderRow

SPOT = "BTC/USDT"
SEND, GET = "/signals/send", "/signals/get"

# the document's examples, as written
DOC_SEND = {
    "signal": {
        "signalToken": "my-webhook-token-123",
        "action": "buy",
        "amount": 0.01,
        "timestamp": 1702345678,
    }
}
DOC_SEND_ANSWER = {"isSuccess": True, "code": 0, "message": "", "data": True}
DOC_GET = {"signalToken": "webhook_token_abc123xyz"}
DOC_GET_DATA = {
    "signalToken": "my-btc-signal-token",
    "action": "buy",
    "price": 43250.5,
    "amount": 0.05,
    "timestamp": 1702324800,
    "metadata": {"source": "TradingView", "strategy": "RSI Oversold", "confidence": 0.85},
}


async def webhook_bot(p: Haas, user_id: str, token: str) -> str:
    bot = await p.ok("/bots/create", {
        "userId": user_id, "type": "webhook",
        "settings": {"symbol": "PAPER_BTC_USDT_", "signalToken": token},
    })  # fmt: skip
    assert bot["status"] == "active"
    return str(bot["botId"])


async def orders(tw: Harness, bot_id: str) -> list[OrderRow]:
    async with tw.runtime.sessions() as s:
        stmt = select(OrderRow).where(OrderRow.client_order_id.startswith(f"{bot_id}:"))
        return list((await s.scalars(stmt.order_by(OrderRow.id))).all())


def signal(**fields: Any) -> dict[str, Any]:
    """The document's send body with ``fields`` changed (None: left out)."""
    merged = {**DOC_SEND["signal"], **fields}
    return {"signal": {k: v for k, v in merged.items() if v is not None}}


class TestDocumentExamples:
    async def test_the_send_example_reaches_every_bot_listening_on_the_token(
        self, tw: Harness
    ) -> None:
        p = await partner(tw)
        first, second = await p.user(), await p.user()
        await tw.move(SPOT, 6400)
        listening = [
            await webhook_bot(p, first, "my-webhook-token-123"),
            await webhook_bot(p, second, "my-webhook-token-123"),
        ]
        elsewhere = await webhook_bot(p, first, "another-token")

        r = await p.raw(SEND, DOC_SEND)
        assert r.status_code == 200 and r.json() == DOC_SEND_ANSWER

        for bot_id in listening:
            (order,) = await orders(tw, bot_id)
            assert (order.side, order.amount, order.type, order.status) == (
                "buy", Decimal("0.01"), "market", "filled",
            )  # fmt: skip
        assert await orders(tw, elsewhere) == []

        last = await p.ok(GET, {"signalToken": "my-webhook-token-123"})
        assert last == {**DOC_SEND["signal"], "price": None, "metadata": {}}

    async def test_the_get_example_answers_the_documents_fields(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 43250)
        bot_id = await webhook_bot(p, uid, "my-btc-signal-token")
        sent = {**DOC_GET_DATA, **DOC_GET_DATA["metadata"]}
        del sent["metadata"]
        assert await p.ok(SEND, {"signal": sent}) is True
        (order,) = await orders(tw, bot_id)
        assert (order.type, order.price, order.amount) == (
            "limit",
            Decimal("43250.5"),
            Decimal("0.05"),
        )

        assert await p.ok(GET, {"signalToken": "my-btc-signal-token"}) == DOC_GET_DATA

        # the request example's token, and metadata sent as one object
        await webhook_bot(p, uid, "webhook_token_abc123xyz")
        nested = {**DOC_SEND["signal"], "signalToken": "webhook_token_abc123xyz",
                  "investmentType": "base", "metadata": {"source": "TradingView"}}  # fmt: skip
        assert await p.ok(SEND, {"signal": nested}) is True
        got = await p.ok(GET, DOC_GET)
        assert got["signalToken"] == "webhook_token_abc123xyz" and got["amount"] == 0.01
        assert got["metadata"] == {"source": "TradingView", "investmentType": "base"}


class TestOutcomes:
    async def test_a_repeat_delivery_executes_once_and_answers_the_first_outcome(
        self, tw: Harness
    ) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 6400)
        bot_id = await webhook_bot(p, uid, "my-webhook-token-123")
        assert await p.ok(SEND, DOC_SEND) is True
        r = await p.raw(SEND, DOC_SEND)
        again = r.json()
        assert again["isSuccess"] is True and again["data"] is True
        assert "repeat delivery" in again["message"]
        assert len(await orders(tw, bot_id)) == 1

        assert await p.ok(SEND, signal(timestamp=1702345679)) is True  # a new signal
        assert len(await orders(tw, bot_id)) == 2

    async def test_a_stale_signal_is_refused_by_its_max_lag(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 6400)
        bot_id = await webhook_bot(p, uid, "my-webhook-token-123")
        now = int(tw.clock.now().timestamp())
        message = await p.refused(SEND, signal(timestamp=now - 30, maxLag=10), 400)
        assert message.startswith("maxLag:") and "stale" in message
        assert await orders(tw, bot_id) == []
        assert await p.ok(SEND, signal(timestamp=now, maxLag=10)) is True
        assert len(await orders(tw, bot_id)) == 1

    async def test_a_stopped_bot_answers_data_false_with_the_reason(self, tw: Harness) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 6400)
        bot_id = await webhook_bot(p, uid, "my-webhook-token-123")
        assert await p.ok("/bots/stop", {"botId": bot_id}) is True
        r = await p.raw(SEND, DOC_SEND)
        answer = r.json()
        assert r.status_code == 200 and answer["isSuccess"] is True and answer["data"] is False
        assert answer["message"] == "no matching bot is active"
        # nothing to sell: delivered, and the bot placed nothing
        await p.ok("/bots/start", {"botId": bot_id})
        r = await p.raw(SEND, signal(action="exit_long", timestamp=1702345700))
        assert r.json()["data"] is False and "no order" in r.json()["message"]
        assert await orders(tw, bot_id) == []


class TestRefusals:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (signal(signalToken=None), "signalToken"),
            (signal(action=None), "action"),
            (signal(amount=None), "amount"),
            (signal(timestamp=None), "timestamp"),
            (signal(signalToken=123), "signalToken"),
            (signal(action="BUY"), "action"),
            (signal(action="Buy"), "action"),
            (signal(action="close"), "action"),
            (signal(action="hold"), "action"),
            (signal(amount="lots"), "amount"),
            (signal(amount=-1), "amount"),
            (signal(amount=True), "amount"),
            (signal(timestamp="1702345678"), "timestamp"),
            (signal(timestamp=1702345678.5), "timestamp"),
            (signal(price="high"), "price"),
            (signal(maxLag="soon"), "maxLag"),
            (signal(investmentType=5), "investmentType"),
            ({}, "signal"),
            ({"signal": "buy"}, "signal"),
        ],
    )
    async def test_bad_input_is_400_naming_the_field(
        self, tw: Harness, body: dict[str, Any], field: str
    ) -> None:
        p = await partner(tw)
        uid = await p.user()
        await tw.move(SPOT, 6400)
        bot_id = await webhook_bot(p, uid, "my-webhook-token-123")
        message = await p.refused(SEND, body, 400)
        assert message.startswith(f"{field}:"), message
        assert await orders(tw, bot_id) == []
        await p.refused(GET, {"signalToken": "my-webhook-token-123"}, 404)  # nothing stored

    async def test_a_token_nobody_listens_on_and_another_partners_token_are_404(
        self, tw: Harness
    ) -> None:
        p, other = await partner(tw), await partner(tw)
        uid, theirs = await p.user(), await other.user()
        await tw.move(SPOT, 6400)
        their_bot = await webhook_bot(other, theirs, "their-token")

        message = await p.refused(SEND, signal(signalToken="nobody-listens"), 404)
        assert "no bot listens" in message
        message = await p.refused(SEND, signal(signalToken="their-token"), 404)
        assert "no bot listens" in message
        assert await orders(tw, their_bot) == []

        assert await other.ok(SEND, signal(signalToken="their-token", amount=0.02)) is True
        assert len(await orders(tw, their_bot)) == 1
        assert (await other.ok(GET, {"signalToken": "their-token"}))["amount"] == 0.02
        # each partner reads its own signals on a token: p's refused one, not theirs
        assert (await p.ok(GET, {"signalToken": "their-token"}))["amount"] == 0.01
        await webhook_bot(p, uid, "mine")
        assert await p.ok(SEND, signal(signalToken="mine")) is True
        await other.refused(GET, {"signalToken": "mine"}, 404)
        await p.refused(GET, {"signalToken": "never-sent"}, 404)
        assert (await p.refused(GET, {"signalToken": None}, 400)).startswith("signalToken:")
        await p.refused(GET, {}, 400)

    async def test_only_partners_send_signals(self, tw: Harness) -> None:
        user = await new_user(tw.client)
        trader = Haas(tw, user["auth"])
        assert (await trader.refused(SEND, DOC_SEND, 403)).startswith("only partner")
        assert (await tw.client.post("/compat/haas" + SEND, json=DOC_SEND)).status_code == 401
