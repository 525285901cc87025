"""The times sign-in logs and user exports write, as UTC ``YYYY-MM-DDTHH:MM:SSZ``."""

from __future__ import annotations

import datetime as dt
import re

from ... import normalise as n
from .fields import text

_ISO_UTC = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?Z")
_HUMAN = re.compile(
    r"(?P<date>.+?)[,\sT]+(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?P<ampm>[ap]\.?m\.?)?"
    r"\s*(?P<zone>z|utc|gmt|(?:utc|gmt)?\s*[+-]\d{1,2}(?::?\d{2})?)?",
    re.I,
)
EXPECTED_TIME = "expected a time such as 2024-03-31T23:30:00Z, 2024-03-31 23:30:00+02:00 or Mar 31, 2024, 11:30 PM GMT-7"


class Timestamps:
    """Turns the times logs write into UTC ``YYYY-MM-DDTHH:MM:SSZ``.

    ISO 8601 in UTC (what the APIs give) is taken as it is; an offset is
    converted; a time with no zone at all is read as UTC. ``date_format``
    settles slashed dates that read both ways, as for ``ingest``.
    """

    def __init__(self, date_format: str | None = None):
        self.date_format = date_format
        self.valid_days: set[str] = set()

    def utc(self, value: object) -> str:
        """``value`` as UTC ``YYYY-MM-DDTHH:MM:SSZ``; `normalise.BadValue` says what was expected if it is no time."""
        # Called for every sign-in: the usual case, ISO 8601 in UTC on a day
        # already seen, costs one regular expression and a slice.
        if value.__class__ is str and _ISO_UTC.fullmatch(value) and value[:10] in self.valid_days:
            return value[:19] + "Z"
        if value.__class__ is str and _ISO_UTC.fullmatch(value):
            self._check_day(value[:10])
            return value[:19] + "Z"
        return self._convert(text(value))

    def _check_day(self, day: str) -> None:
        n.parse_period(day)  # a day on the calendar, in a month usage can be counted in
        if len(self.valid_days) > 10_000:
            self.valid_days.clear()
        self.valid_days.add(day)

    def _convert(self, value: str) -> str:
        if not value:
            raise n.BadValue(EXPECTED_TIME)
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = self._human(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        # Checked before converting too: in the years 1 and 9999 an offset would carry the time off the calendar.
        _in_usage_years(moment)
        moment = moment.astimezone(dt.timezone.utc)
        _in_usage_years(moment)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _human(self, value: str) -> dt.datetime:
        match = _HUMAN.fullmatch(value)
        try:
            if not match:
                return dt.datetime.fromisoformat(n.parse_date(value, self.date_format))
            day = dt.date.fromisoformat(n.parse_date(match["date"].strip(" ,"), self.date_format))
        except n.BadValue as error:
            if "ambiguous" in str(error):
                raise
            raise n.BadValue(EXPECTED_TIME) from None
        parts = match["time"].split(":")
        hour, minute = int(parts[0]), int(parts[1])
        second = float(parts[2]) if len(parts) > 2 else 0.0
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise n.BadValue(EXPECTED_TIME)
            hour = hour % 12 + (12 if match["ampm"][0].lower() == "p" else 0)
        if hour > 23 or minute > 59 or second >= 60:
            raise n.BadValue(EXPECTED_TIME)
        zone = dt.timezone.utc
        if match["zone"] and (offset := re.search(r"([+-])(\d{1,2}):?(\d{2})?", match["zone"])):
            minutes = int(offset[2]) * 60 + int(offset[3] or 0)
            if minutes >= 24 * 60:
                raise n.BadValue(EXPECTED_TIME)
            zone = dt.timezone(dt.timedelta(minutes=minutes if offset[1] == "+" else -minutes))
        return dt.datetime.combine(day, dt.time(hour, minute, int(second), int(second % 1 * 1_000_000)), zone)


def _in_usage_years(moment: dt.datetime) -> None:
    """Refuse a time in a month no usage can be counted in (see `normalise.parse_period`)."""
    n.parse_period(f"{moment.year:04d}-{moment.month:02d}")
