"""In-process token buckets for per-key and per-IP rate limits, and the login throttle.

One process holds its own buckets; behind several API processes each enforces its share.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_BUCKETS = 100_000


class TokenBuckets:
    """``hit(key)`` takes one token; returns 0 when allowed, else seconds until one is free."""

    def __init__(
        self, rate: float, burst: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}

    def hit(self, key: str) -> float:
        now = self._now()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
            self._evict(now)
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def _evict(self, now: float) -> None:
        full = [
            k
            for k, (t, last) in self._buckets.items()
            if t + (now - last) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= MAX_BUCKETS:
            self._buckets.clear()


class LoginThrottle:
    """Counts failed logins per (email, ip) in a sliding window."""

    def __init__(
        self, max_failures: int, window_seconds: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._now = now
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """Seconds to wait before another attempt is allowed (0 when allowed now)."""
        q = self._failures.get(key)
        if not q:
            return 0.0
        now = self._now()
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) < self.max_failures:
            return 0.0
        return q[0] + self.window - now

    def failed(self, key: str) -> None:
        if len(self._failures) >= MAX_BUCKETS and key not in self._failures:
            self._failures.clear()
        self._failures.setdefault(key, deque()).append(self._now())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
