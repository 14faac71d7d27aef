"""The date range a chart covers: whole UTC days, both ends included, from a form's text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366
WEEKLY_AFTER_DAYS = 62  # longer ranges are counted per week, so bars stay readable


class PeriodError(ValueError):
    """A date range that cannot be used; the message says why, in words for the clinician."""


@dataclass(frozen=True)
class Period:
    """`first` to `last`, both included, in UTC days; counted in buckets of `bucket_days`."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def bucket_days(self) -> int:
        return 1 if self.days <= WEEKLY_AFTER_DAYS else 7

    @property
    def bucket_seconds(self) -> int:
        return self.bucket_days * 86_400

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The first moment after the range."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=timezone.utc)

    @property
    def buckets(self) -> list[date]:
        """The first day of every bucket, in order."""
        step = timedelta(days=self.bucket_days)
        return [self.first + step * i for i in range(-(-self.days // self.bucket_days))]

    def bucket_label(self, index: int) -> str:
        first = self.buckets[index]
        if self.bucket_days == 1:
            return first.isoformat()
        last = min(first + timedelta(days=self.bucket_days - 1), self.last)
        return f"{first.isoformat()} to {last.isoformat()}"


def default_period(today: date) -> Period:
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def _parse_day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise PeriodError(
            f"The {name} date {raw[:40]!r} is not a date. Use the form YYYY-MM-DD, "
            "for example 2026-03-01."
        ) from None


def parse_period(raw_from: str | None, raw_to: str | None, today: date) -> Period:
    """The range a form asked for. Either end may be empty: the default range (the last
    DEFAULT_DAYS days to `today`) supplies it. PeriodError says what is wrong otherwise."""
    default = default_period(today)
    last = _parse_day(raw_to, "end") if raw_to and raw_to.strip() else default.last
    if raw_from and raw_from.strip():
        first = _parse_day(raw_from, "start")
    else:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise PeriodError(
            f"The start date {first.isoformat()} is after the end date {last.isoformat()}."
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"The range is longer than {MAX_DAYS} days; choose a shorter one.")
    if first > today:
        raise PeriodError(f"The start date {first.isoformat()} is in the future.")
    return Period(first, last)
