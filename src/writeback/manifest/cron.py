"""Five-field cron expressions: parsing, and the shortest gap between two runs.

Read schedules must not run more often than every 10 minutes, so the validator needs the real
minimum interval of an expression, not just a look at its minute field: `0,5 * * * *` runs
5 minutes apart even though no field is `*/5`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _FieldKind:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _FieldKind("minute", 0, 59),
    _FieldKind("hour", 0, 23),
    _FieldKind("day-of-month", 1, 31),
    _FieldKind("month", 1, 12, _MONTHS, 1),
    # 7 is accepted as another spelling of Sunday and folded onto 0 below.
    _FieldKind("day-of-week", 0, 7, _DAYS, 0),
)

# Simulate this many days to find consecutive run days; it spans two leap years, so rare
# dates such as 29 February are seen.
_SIMULATED_DAYS = 8 * 366


class CronError(ValueError):
    """The expression is not a valid five-field cron expression."""


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    # Cron's rule: when both day fields are restricted, a day matches if EITHER matches.
    day_fields_either: bool
    minute_is_star: bool

    def runs_on(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        return (dom or dow) if self.day_fields_either else (dom and dow)


def _value(text: str, kind: _FieldKind) -> int:
    upper = text.upper()
    if kind.names and upper in kind.names:
        return kind.names.index(upper) + kind.name_base
    if not text.isdigit():
        raise CronError(f"{kind.label} field: {text!r} is not a number")
    number = int(text)
    if not kind.low <= number <= kind.high:
        raise CronError(f"{kind.label} field: {number} is outside {kind.low}-{kind.high}")
    return number


def _parse_field(text: str, kind: _FieldKind) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{kind.label} field: empty list item in {text!r}")
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{kind.label} field: step {step_text!r} must be a positive number")
            step = int(step_text)
        if span == "*":
            low, high = kind.low, kind.high
        elif "-" in span:
            first, _, last = span.partition("-")
            low, high = _value(first, kind), _value(last, kind)
            if low > high:
                raise CronError(f"{kind.label} field: range {span!r} runs backwards")
        else:
            low = _value(span, kind)
            # `5/15` means "from 5 to the end, every 15", as most cron dialects read it.
            high = kind.high if step_text else low
        values.update(range(low, high + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field expression; raise CronError with a readable reason."""
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            f"must have 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    sets = [_parse_field(part, kind) for part, kind in zip(parts, _FIELDS, strict=True)]
    days_of_week = frozenset(0 if day == 7 else day for day in sets[4])
    return CronSchedule(
        minutes=sets[0],
        hours=sets[1],
        days_of_month=sets[2],
        months=sets[3],
        days_of_week=days_of_week,
        day_fields_either=not parts[2].startswith("*") and not parts[4].startswith("*"),
        minute_is_star=parts[0] == "*",
    )


@lru_cache(maxsize=256)  # manifests repeat the same few schedules
def min_interval_minutes(schedule: CronSchedule) -> int | None:
    """The shortest time between two consecutive runs, or None if it never runs twice."""
    times = sorted(hour * 60 + minute for hour in schedule.hours for minute in schedule.minutes)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    start = dt.date(2024, 1, 1)
    run_days = [
        day
        for offset in range(_SIMULATED_DAYS)
        if schedule.runs_on(day := start + dt.timedelta(days=offset))
    ]
    if not run_days:
        return None
    # The last run of one day and the first run of the next can be the closest pair.
    shortest_day_gap = min(
        ((later - earlier).days for earlier, later in pairwise(run_days)),
        default=None,
    )
    if shortest_day_gap is not None:
        gaps.append(shortest_day_gap * 24 * 60 - times[-1] + times[0])
    return min(gaps) if gaps else None
