"""Bots: their status and the moves allowed between statuses."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

from tradewind.domain.errors import InvalidTransition

BotId = NewType("BotId", str)
PREFIX_BOT = "bot"
PREFIX_BOT_LOG = "log"


class BotStatus(StrEnum):
    STOPPED = "stopped"
    """Created, or stopped: no open orders of its own."""
    ACTIVE = "active"
    PAUSED = "paused"
    """Keeps its open orders, places nothing new."""
    ERROR = "error"
    """Stopped by a failure (insufficient funds, an exception in its strategy); see the reason."""


RUNNING = (BotStatus.ACTIVE.value, BotStatus.PAUSED.value)
"""The stored statuses of a bot the engine runs (resumed on start, counted as running)."""


BOT_TRANSITIONS: frozenset[tuple[BotStatus, BotStatus]] = frozenset(
    {
        (BotStatus.STOPPED, BotStatus.ACTIVE),
        (BotStatus.ACTIVE, BotStatus.PAUSED),
        (BotStatus.PAUSED, BotStatus.ACTIVE),
        (BotStatus.ACTIVE, BotStatus.STOPPED),
        (BotStatus.PAUSED, BotStatus.STOPPED),
        (BotStatus.ACTIVE, BotStatus.ERROR),
        (BotStatus.PAUSED, BotStatus.ERROR),
        (BotStatus.ERROR, BotStatus.STOPPED),
        (BotStatus.ERROR, BotStatus.ACTIVE),
    }
)


def check_bot_transition(current: BotStatus, new: BotStatus) -> None:
    """Raise InvalidTransition unless the table allows ``current`` → ``new``."""
    if (current, new) not in BOT_TRANSITIONS:
        raise InvalidTransition(f"a bot cannot go from {current} to {new}")


class LogSeverity(StrEnum):
    INFO = "info"
    TRADE = "trade"
    WARNING = "warning"
    ERROR = "error"
    CUSTOM = "custom"
