"""HubSpot's two request windows: TEN_SECONDLY_ROLLING and DAILY (UTC days here).

The rolling window counts requests in 100 ms buckets, so a hit costs O(1) however fast the
benchmarks go.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

WINDOW_MS = 10_000
_BUCKET_MS = 100
_BUCKETS = WINDOW_MS // _BUCKET_MS


@dataclass(frozen=True)
class Verdict:
    policy: str | None  # None = allowed; else TEN_SECONDLY_ROLLING or DAILY
    remaining: int
    daily_remaining: int
    retry_after: int  # seconds until the window has room again


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: deque[list[int]] = deque()  # [bucket index, count]
        self._in_window = 0
        self._day = -1
        self._today = 0

    def _slide(self, bucket: int) -> None:
        while self._buckets and self._buckets[0][0] <= bucket - _BUCKETS:
            self._in_window -= self._buckets.popleft()[1]

    def hit(self, now: float, limit: int, daily_limit: int) -> Verdict:
        """Count one request if both windows have room; rejected requests are not counted."""
        bucket = int(now * 1000) // _BUCKET_MS
        self._slide(bucket)
        day = int(now // 86400)
        if day != self._day:
            self._day, self._today = day, 0
        if self._today >= daily_limit:
            return Verdict(
                "DAILY", max(limit - self._in_window, 0), 0, (day + 1) * 86400 - int(now)
            )
        if self._in_window >= limit:
            frees_at = (self._buckets[0][0] + _BUCKETS) * _BUCKET_MS / 1000
            wait = max(1, math.ceil(frees_at - now))
            return Verdict("TEN_SECONDLY_ROLLING", 0, daily_limit - self._today, wait)
        if self._buckets and self._buckets[-1][0] == bucket:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([bucket, 1])
        self._in_window += 1
        self._today += 1
        return Verdict(None, limit - self._in_window, daily_limit - self._today, 0)

    def reset(self) -> None:
        self._buckets.clear()
        self._in_window = 0
        self._day, self._today = -1, 0
