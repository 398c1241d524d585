"""A token bucket per client: `burst` calls at once, refilled at `rate_per_minute`. The clock is injectable."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def retry_after(seconds: float) -> float:
    """A wait to tell a client: rounded *up* to a tenth of a second, never 0 (a client told 0 retries at once)."""
    return max(0.1, math.ceil(seconds * 10 - 1e-9) / 10)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Per-client token buckets. `acquire` returns None when allowed, else the seconds to wait."""

    def __init__(
        self, rate_per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ) -> None:
        if rate_per_minute <= 0 or burst < 1:
            raise ValueError("rate_per_minute must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._max_clients = max_clients

    def acquire(self, client: str, cost: float = 1.0) -> float | None:
        """Take `cost` tokens from `client`'s bucket; return None if allowed, else retry-after seconds."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= self._max_clients:
                    # Bounded memory: forget the idlest bucket (a full bucket is the same as no bucket).
                    oldest = min(self._buckets, key=lambda k: self._buckets[k].updated)
                    del self._buckets[oldest]
                bucket = self._buckets[client] = _Bucket(tokens=float(self.burst), updated=now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return None
            return retry_after((cost - bucket.tokens) / self.rate_per_s)
