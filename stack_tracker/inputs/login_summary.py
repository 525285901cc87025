"""What an import of sign-ins read, counted and changed, in words for people.

`LoginsResult` is the summary of `import-logins` and `import-activity` alike; a file
of which nothing was counted gets a warning naming the likely cause
(`nothing_counted`), never a quiet zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .directory import summary_of_people


@dataclass
class LoginsResult:
    """What one file's import read, counted and changed."""

    file: str
    source: str
    ingest_id: int | None = None
    sign_ins: int = 0
    non_interactive: int = 0
    outside_window: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    people: int = 0
    unassigned_people: int = 0
    tools: int = 0
    after_leaving: int = 0  # sign-ins after the day the person left, per the directory
    leavers_signed_in: int = 0
    first_period: str | None = None
    last_period: str | None = None
    inserted: int = 0
    updated: int = 0
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated

    def summary(self) -> str:
        """A few lines for people: what was counted, left out and changed."""
        months = f"{self.first_period} to {self.last_period}" if self.first_period != self.last_period else self.first_period
        lines = [
            f"{self.file}: {self.sign_ins:,} successful sign-ins"
            + (f" ({self.non_interactive:,} non-interactive)" if self.non_interactive else "")
            + f" by {self.people:,} "
            f"{'person' if self.people == 1 else 'people'} to {self.tools:,} tool{'s' if self.tools != 1 else ''}"
            + (f", {months}" if self.first_period else "")
            + f"; wrote {self.rows_written:,} person-months ({self.inserted:,} new, {self.updated:,} updated)"
        ]
        left_out = [f"{count:,} {reason}" for reason, count in sorted(self.skipped.items()) if count]
        if self.outside_window:
            left_out.append(f"{self.outside_window:,} sign-ins outside --since/--until")
        if left_out:
            lines.append("  not counted: " + ", ".join(left_out))
        if self.after_leaving:
            lines.append(f"  {self.after_leaving:,} sign-in{'s' if self.after_leaving != 1 else ''} by "
                         f"{self.leavers_signed_in:,} {'person' if self.leavers_signed_in == 1 else 'people'} "
                         "after they left: their accounts are still open")
        lines += summary_of_people(self.unassigned_people, self.created)
        return "\n".join(lines)



#: Why a file may have had every record left out, by the reason most of them were.
_LIKELY_CAUSES = {
    "other events": "the file holds none of the sign-in events this source writes: is --source {source} right for it?",
    "failed sign-ins": "every sign-in in the file failed",
    "failed or interrupted sign-ins": "every sign-in in the file failed",
    "sign-ins without a user": "no record names a person: are these service accounts' sign-ins, or a log exported "
                               "in a shape stack-tracker does not read?",
    "sign-ins outside --since/--until": "check --since and --until",
}


def nothing_counted(result: LoginsResult) -> list[str]:
    """A warning for a file of which no sign-in was counted, naming the likely cause: never a quiet zero."""
    if result.sign_ins:
        return []
    reasons = {**result.skipped, "sign-ins outside --since/--until": result.outside_window}
    left_out = sum(reasons.values())
    if not left_out:
        return [f"{result.file}: no sign-in was counted: the file holds no records; is it the right file?"]
    reason, count = max(reasons.items(), key=lambda item: item[1])
    cause = _LIKELY_CAUSES.get(reason, "is --source {source} right for this file?").format(source=result.source)
    return [f"{result.file}: no sign-in was counted: all {left_out:,} records were left out, "
            f"{'all' if count == left_out else f'{count:,}'} of them as {reason}: {cause}"]
