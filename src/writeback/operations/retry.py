"""When to try an asynchronous write again: exponential backoff with jitter, honouring the
provider's Retry-After, never past the operation's deadline."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 0.5
    max_seconds: float = 60.0
    exponent: float = 2.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        backoff = min(self.max_seconds, self.base_seconds * self.exponent ** (attempt - 1))
        backoff *= rng.uniform(0.5, 1.0)  # jitter: workers retrying together spread out
        return max(backoff, retry_after or 0.0)

    def next_attempt(
        self,
        now: datetime,
        attempt: int,
        retry_after: float | None,
        deadline: datetime,
        rng: random.Random,
    ) -> datetime | None:
        """When to try again, or None when the next try would fall after the deadline."""
        when = now + timedelta(seconds=self.delay(attempt, retry_after, rng))
        return when if when <= deadline else None
