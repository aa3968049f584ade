"""Faults a test arms on the fake, each for the next N requests that match it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from enum import StrEnum


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    LOSE_ANSWER = "lose_answer"


@dataclass
class Fault:
    """One armed fault. ``None`` for method or path matches any."""

    kind: FaultKind
    remaining: int
    method: str | None = None
    path: str | None = None
    status: int | None = None  # SERVER_ERROR, LOSE_ANSWER (None: drop the connection)
    retry_after: int = 1  # RATE_LIMIT
    seconds: float = 30.0  # TIMEOUT
    executed: bool = False  # TIMEOUT

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method.upper()) and self.path in (None, path)


class Faults:
    """Armed faults in the order they were armed; the first that matches a request applies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("a fault must apply to at least one request")
        with self._lock:
            self._armed.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._armed:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if not fault.remaining:
                        self._armed.remove(fault)
                    return replace(fault)
            return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    @property
    def armed(self) -> list[Fault]:
        with self._lock:
            return [replace(f) for f in self._armed]
