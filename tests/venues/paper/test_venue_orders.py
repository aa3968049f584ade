"""The paper venue's order checks through the API, and a trailing stop placed without a stop
price: the matching engine starts it from the price at placement, moves it, and fills it."""

from __future__ import annotations

from decimal import Decimal as D

from tests.conftest import Harness
from tests.helpers import key_auth, new_key, new_user


async def _trader(tw: Harness) -> tuple[dict[str, str], str]:
    user = await new_user(tw.client)
    h = key_auth(await new_key(tw.client, user["auth"], "trade"))
    account = (await tw.client.get("/api/v1/accounts", headers=h)).json()[0]["account_id"]
    return h, account


async def test_a_trailing_stop_without_a_stop_price_trails_from_the_price_and_fills(
    tw: Harness,
) -> None:
    h, acc = await _trader(tw)
    await tw.move("BTC/USDT", 7000)
    url = f"/api/v1/accounts/{acc}/orders"
    bought = await tw.client.post(
        url, headers=h, json={"symbol": "BTC/USDT", "side": "buy", "amount": "0.1"}
    )
    assert bought.status_code == 201, bought.text

    r = await tw.client.post(url, headers=h, json={
        "symbol": "BTC/USDT", "side": "sell", "type": "stop", "amount": "0.1",
        "trailing": {"callback": "0.01"},
    })  # fmt: skip

    assert r.status_code == 201, r.text
    stop = r.json()
    # active at once: 1% under the bid (7000 - 0.5), rounded down to the tick
    assert (stop["status"], D(stop["stop_price"])) == ("open", D("6929.50"))
    await tw.move("BTC/USDT", 7100)  # the bid rises to 7099.5: the stop follows it up
    got = (await tw.client.get(f"{url}/{stop['order_id']}", headers=h)).json()
    assert (got["status"], D(got["stop_price"])) == ("open", D("7028.50"))
    await tw.move("BTC/USDT", 7050)  # still above the stop, which never moves down
    got = (await tw.client.get(f"{url}/{stop['order_id']}", headers=h)).json()
    assert (got["status"], D(got["stop_price"])) == ("open", D("7028.50"))

    await tw.move("BTC/USDT", 7000)  # the bid falls through 7028.50: it sells

    got = (await tw.client.get(f"{url}/{stop['order_id']}", headers=h)).json()
    assert (got["status"], got["filled"]) == ("filled", "0.1")


async def test_a_stop_that_does_not_trail_still_needs_a_stop_price(tw: Harness) -> None:
    h, acc = await _trader(tw)
    await tw.move("BTC/USDT", 7000)
    url = f"/api/v1/accounts/{acc}/orders"
    for body in (
        {"type": "stop"},
        {"type": "stop_limit", "price": "6900", "trailing": {"callback": "0.01"}},
    ):
        r = await tw.client.post(url, headers=h, json={
            "symbol": "BTC/USDT", "side": "sell", "amount": "0.1", **body,
        })  # fmt: skip
        assert r.status_code == 422, r.text
        (detail,) = r.json()["error"]["details"]
        assert detail == {
            "field": "stop_price", "message": f"a {body['type']} order needs a stop_price",
        }  # fmt: skip
    assert (await tw.client.get(url, headers=h)).json()["data"] == []
