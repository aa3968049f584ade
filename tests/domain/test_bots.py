from __future__ import annotations

import itertools

import pytest

from tradewind.domain.bots import BOT_TRANSITIONS, BotStatus, check_bot_transition
from tradewind.domain.errors import InvalidTransition


@pytest.mark.parametrize(("a", "b"), list(itertools.product(BotStatus, BotStatus)))
def test_only_the_table_allows_a_move(a: BotStatus, b: BotStatus) -> None:
    if (a, b) in BOT_TRANSITIONS:
        check_bot_transition(a, b)
    else:
        with pytest.raises(InvalidTransition):
            check_bot_transition(a, b)


def test_lifecycle_of_the_documents() -> None:
    # TrynQuant: start -> active, pause -> paused, stop -> stopped; new bots are stopped.
    for a, b in [
        ("stopped", "active"),
        ("active", "paused"),
        ("paused", "active"),
        ("active", "stopped"),
    ]:
        check_bot_transition(BotStatus(a), BotStatus(b))
    with pytest.raises(InvalidTransition):
        check_bot_transition(BotStatus.STOPPED, BotStatus.PAUSED)
