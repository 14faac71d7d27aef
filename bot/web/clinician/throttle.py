"""Per-client failed sign-in throttle, in memory: it covers usernames that do not exist.

Each failure past `free_failures` inside the window adds a growing delay before the answer; at
`max_failures` the client is refused until its oldest counted failure leaves the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 20
    window_seconds: float = 15 * 60
    free_failures: int = 3
    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 4.0
    max_clients: int = 10_000  # bound on memory; the stalest clients are forgotten first


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None when it may try now."""
        failures = self._recent(client)
        if len(failures) < self._policy.max_failures:
            return None
        return max(1.0, failures[0] + self._policy.window_seconds - self._clock())

    def record_failure(self, client: str) -> float:
        """Count a failure; returns how long to hold the answer back."""
        failures = self._recent(client)
        failures.append(self._clock())
        self._failures.pop(client, None)
        self._failures[client] = failures  # re-insert: dict order is least recently failed first
        self._forget_stale()
        excess = len(failures) - self._policy.free_failures
        if excess <= 0:
            return 0.0
        return min(
            self._policy.max_delay_seconds, self._policy.first_delay_seconds * 2 ** (excess - 1)
        )

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        horizon = self._clock() - self._policy.window_seconds
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def _forget_stale(self) -> None:
        while len(self._failures) > self._policy.max_clients:
            del self._failures[next(iter(self._failures))]
