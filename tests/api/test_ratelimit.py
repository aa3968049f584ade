from __future__ import annotations

from tradewind.api.ratelimit import LoginThrottle, TokenBuckets


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    now = FakeTime()
    b = TokenBuckets(rate=10, burst=10, now=now)
    assert all(b.hit("k") == 0 for _ in range(10))
    wait = b.hit("k")
    assert 0 < wait <= 0.1
    now.t += 0.1
    assert b.hit("k") == 0
    assert b.hit("other") == 0


def test_login_throttle_window() -> None:
    now = FakeTime()
    t = LoginThrottle(max_failures=2, window_seconds=10, now=now)
    t.failed("a")
    assert t.retry_after("a") == 0
    t.failed("a")
    assert t.retry_after("a") == 10
    now.t = 10.5
    assert t.retry_after("a") == 0
    t.failed("a")
    t.succeeded("a")
    assert t.retry_after("a") == 0
