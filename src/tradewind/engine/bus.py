"""In-process publish/subscribe for the streams. Publishing never waits: each subscriber has a
bounded queue, and one that falls behind is marked overflowed and dropped by its transport.

Topics are strings: ``tick:<symbol>`` for the paper market's prices, ``tick:<venue>:<symbol>``
for a live exchange's (``CcxtVenue.tick_topic``), ``account:<account_id>`` for orders,
positions, balances and notifications of one account (either venue's).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

Message = dict[str, Any]


class Subscription:
    """One subscriber's view: a bounded queue over a changing set of topics."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=maxsize)
        self.topics: set[str] = set()
        self.overflowed = asyncio.Event()

    def add(self, *topics: str) -> None:
        for topic in topics:
            self.topics.add(topic)
            self._bus._subscribers[topic].add(self)

    def remove(self, *topics: str) -> None:
        for topic in topics:
            self.topics.discard(topic)
            self._bus._subscribers[topic].discard(self)

    def close(self) -> None:
        self.remove(*list(self.topics))

    def deliver(self, message: Message) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, *topics: str, maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, maxsize)
        sub.add(*topics)
        return sub

    def publish(self, topic: str, message: Message) -> None:
        for sub in tuple(self._subscribers.get(topic, ())):
            sub.deliver(message)

    def has_subscribers(self, topic: str) -> bool:
        return bool(self._subscribers.get(topic))
