"""The org's API request counter over a rolling 24 hours, in hourly buckets."""

from __future__ import annotations

import time

WINDOW_HOURS = 24


class ApiUsage:
    def __init__(self, buckets: dict[int, int] | None = None) -> None:
        self.buckets: dict[int, int] = dict(buckets or {})
        self._hour = -1
        self._total = 0
        self._roll(int(time.time() // 3600))

    def _roll(self, hour: int) -> None:
        # Drop buckets older than the window; only runs when the hour changes.
        self._hour = hour
        oldest = hour - WINDOW_HOURS + 1
        self.buckets = {h: n for h, n in self.buckets.items() if h >= oldest}
        self._total = sum(self.buckets.values())

    def used(self) -> int:
        hour = int(time.time() // 3600)
        if hour != self._hour:
            self._roll(hour)
        return self._total

    def add(self) -> int:
        hour = int(time.time() // 3600)
        if hour != self._hour:
            self._roll(hour)
        self.buckets[hour] = self.buckets.get(hour, 0) + 1
        self._total += 1
        return self._total

    def clear(self) -> None:
        self.buckets.clear()
        self._total = 0

    def to_json(self) -> dict[str, int]:
        return {str(hour): count for hour, count in self.buckets.items()}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> ApiUsage:
        return cls({int(hour): int(count) for hour, count in data.items()})
