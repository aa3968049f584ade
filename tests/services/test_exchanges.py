"""The exchange registry: CCXT's metadata merged with the curated table."""

from __future__ import annotations

import ccxt
import pytest

from tradewind.domain.errors import NotFound
from tradewind.services import exchanges
from tradewind.services.exchanges import CURATED, Curated, from_ccxt


def test_every_curated_exchange_is_in_this_ccxt_release() -> None:
    assert set(CURATED) <= set(ccxt.exchanges)
    assert {e.id for e in exchanges.supported()} == {"paper", *CURATED}


def test_paper_first_then_by_tier_and_name() -> None:
    listed = exchanges.supported()
    assert listed[0] is exchanges.PAPER
    keys = [(e.tier, e.name.lower()) for e in listed[1:]]
    assert keys == sorted(keys)


def test_only_binance_is_verified_among_the_ccxt_exchanges() -> None:
    assert [e.id for e in exchanges.supported() if e.verified] == ["paper", "binance"]


@pytest.mark.parametrize(
    ("exchange_id", "passphrase", "testnet", "futures", "spot"),
    [
        ("binance", False, True, True, True),
        ("okx", True, True, True, True),
        ("kucoin", True, False, True, True),
        ("bitget", True, False, True, True),
        ("kraken", False, False, False, True),
        ("kucoinfutures", True, False, True, False),
    ],
)
def test_facts_from_ccxt(
    exchange_id: str, passphrase: bool, testnet: bool, futures: bool, spot: bool
) -> None:
    e = exchanges.get(exchange_id)
    assert (e.requires_passphrase, e.has_testnet, e.has_futures, e.has_spot) == (
        passphrase, testnet, futures, spot,
    )  # fmt: skip
    assert e.doc_url and e.doc_url.startswith("https://")


def test_coinbase_takes_a_private_key_as_its_secret() -> None:
    assert exchanges.get("coinbase").requires_rsa is True
    assert exchanges.get("binance").requires_rsa is False


def test_from_a_description() -> None:
    described = {
        "name": "Example",
        "urls": {"doc": ["https://docs.example", "https://more"], "www": "https://example", "test": {"public": "https://t"}},
        "requiredCredentials": {"apiKey": True, "secret": True, "password": False, "privateKey": True},
        "has": {"spot": True, "swap": None, "future": False, "margin": True},
    }  # fmt: skip

    e = from_ccxt("example", Curated(2, "https://example/keys"), described)

    assert (e.name, e.tier, e.doc_url, e.www_url, e.manage_url) == (
        "Example", 2, "https://docs.example", "https://example", "https://example/keys",
    )  # fmt: skip
    assert (e.requires_rsa, e.requires_passphrase, e.has_testnet, e.has_futures) == (
        True, False, True, False,
    )  # fmt: skip
    assert e.haas() == {"id": "EXAMPLE", "name": "Example", "isSpot": True, "isLeverage": True}
    assert e.verified is False


def test_found_in_either_spelling_and_unknown_is_not_found() -> None:
    assert exchanges.find("BINANCE") is exchanges.get("binance")
    assert exchanges.find("PAPER") is exchanges.PAPER
    assert exchanges.find("hyperliquid") is None  # in CCXT, not supported
    with pytest.raises(NotFound):
        exchanges.get("nowhere")


def test_trynquant_shape() -> None:
    assert set(exchanges.get("okx").trynquant()) == {
        "id", "name", "tier", "requires_passphrase", "requires_rsa", "has_testnet", "has_futures",
        "doc_url", "manage_url",
    }  # fmt: skip
