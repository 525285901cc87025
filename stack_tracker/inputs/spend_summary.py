"""What one spend import counted, left out and wrote, in words for people (`SpendResult.summary`).

Every reason a transaction was left out is counted and shown with a few of
the merchants it applied to (``not software: 12 transactions, e.g. DELTA AIR
LINES, STARBUCKS``); a file of which nothing was counted is a warning naming
the likely cause (`nothing_counted`), never a quiet zero. No card holder is
ever named: only how many were not in the directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import merchants as m
from .directory import UNASSIGNED, summary_of_people

#: How many merchants (or files) a reason to leave transactions out shows as examples.
EXAMPLES = 5

#: How each way of finding a tool reads in the summary (finding it in the inventory goes without saying).
HOW_FOUND = {
    m.BY_RULE: "by merchant rule",
    m.NEW_FROM_CATALOG: "new, unreviewed: a product of the catalog",
    m.NEW_BY_VENDOR: "new, unreviewed: sold under a software vendor's name",
    m.NEW_BY_CATEGORY: "new, unreviewed: the export's category says software",
}


@dataclass
class ToolSpend:
    """What one tool was paid in one currency, as the file counted it."""

    tool: str
    name: str
    currency: str
    transactions: int
    cents: int
    refunds: int


@dataclass
class SpendResult:
    """What one export's import read, counted, left out and wrote."""

    file: str
    format: str = ""
    ingest_id: int | None = None
    transactions: int = 0
    directory: str | None = None
    card_holders: bool = True
    charges_negative: bool = False
    left_out: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    how_found: dict[str, str] = field(default_factory=dict)  # tool slug -> how the first of its merchants was found
    spend: list[ToolSpend] = field(default_factory=list)
    first_period: str | None = None
    last_period: str | None = None
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    unassigned_people: int = 0
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated

    @property
    def counted(self) -> int:
        return sum(spend.transactions for spend in self.spend)

    def leave_out(self, reason: str, example: str | None = None, *, count: int = 1) -> None:
        """Count ``count`` transactions left out for ``reason``, keeping a few examples of it."""
        self.left_out[reason] = self.left_out.get(reason, 0) + count
        if example:
            examples = self.examples.setdefault(reason, [])
            if example not in examples and len(examples) < EXAMPLES:
                examples.append(example)

    def found(self, tool: str, how: str) -> None:
        """Note how a tool's merchant was recognised (the first time it was)."""
        self.how_found.setdefault(tool, how)

    def tally(self, rows: list[tuple], tool_name: Callable[[str], str]) -> None:
        """What was counted: rows of (tool, currency, transactions, cents, refunds, first period, last period)."""
        for tool, currency, transactions, cents, refunds, first, last in rows:
            self.spend.append(ToolSpend(tool, tool_name(tool), currency, transactions, cents, refunds))
            self.first_period = min(filter(None, (self.first_period, first)))
            self.last_period = max(filter(None, (self.last_period, last)))
        self.spend.sort(key=lambda spend: (spend.name.casefold(), spend.currency))

    def summary(self) -> str:
        """A few lines for people: what was counted per tool, left out by reason, and written."""
        tools = len({spend.tool for spend in self.spend})
        months = self.first_period if self.first_period == self.last_period else f"{self.first_period} to {self.last_period}"
        lines = [
            f"{self.file} ({self.format}): {self.transactions:,} transaction{_s(self.transactions)}; counted "
            f"{self.counted:,} on {tools:,} tool{_s(tools)}" + (f", {months}" if self.first_period else "")
            + f"; wrote {self.rows_written:,} spend row{_s(self.rows_written)} ({self.inserted:,} new, "
            f"{self.updated:,} updated" + (f", {self.removed:,} removed" if self.removed else "") + ")"
        ]
        for spend in self.spend:
            refunds = f", {spend.refunds:,} refund{_s(spend.refunds)}" if spend.refunds else ""
            how = HOW_FOUND.get(self.how_found.get(spend.tool, ""))
            lines.append(f"  {spend.name}: {spend.transactions:,} transaction{_s(spend.transactions)}, "
                         f"{spend.cents / 100:,.2f} {spend.currency}{refunds}" + (f" ({how})" if how else ""))
        for reason, count in sorted(self.left_out.items(), key=lambda item: (-item[1], item[0])):
            examples = self.examples.get(reason)
            shown = f", e.g. {', '.join(examples)}" if examples else ""
            lines.append(f"  left out, {reason}: {count:,} transaction{_s(count)}{shown}")
        if self.charges_negative:
            lines.append("  read charges as negative amounts and refunds as positive: most of the file's amounts are negative")
        lines += self._people()
        return "\n".join(lines)

    def _people(self) -> list[str]:
        """Who paid: the card holders not in the directory (counted, never named), and what the import created."""
        if not self.counted:
            return summary_of_people(0, self.created)
        if not self.card_holders:
            return [f"  the export names no card holder: all its spend is counted in team {UNASSIGNED}",
                    *summary_of_people(0, self.created)]
        if self.directory is None:
            return [f"  no --directory: all spend is counted in team {UNASSIGNED}", *summary_of_people(0, self.created)]
        return summary_of_people(self.unassigned_people, self.created)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


#: Why a file may have had every transaction left out, by the reason most of them were.
_LIKELY_CAUSES = {
    m.NOT_SOFTWARE: "none of its merchants is a tool of the inventory or the catalog: write merchant-rules for the "
                    "ones that are software, or is this the right export?",
    m.MARKETPLACE: "every merchant is a marketplace or app store: write merchant-rules for the purchases that are software",
    m.IGNORED: "the merchant rules ignore every merchant in it",
    m.NOT_ALLOWED: "import without --no-allow-new to record them as unreviewed tools, or add them to the inventory",
    "declined or failed": "every transaction in it was declined or failed",
    "outside --since/--until": "check --since and --until",
    "already counted from another file": "every transaction was already counted from the files named: this export "
                                         "is covered by them",
    "zero amounts": "every amount in it is zero: is the amount column the right one?",
}


def nothing_counted(result: SpendResult) -> list[str]:
    """A warning for an export of which nothing was counted, naming the likely cause: never a quiet zero."""
    if result.counted:
        return []
    left_out = sum(result.left_out.values())
    if not left_out:
        return [f"{result.file}: no transaction was counted: the file holds none; is it the right file?"]
    reason, count = max(result.left_out.items(), key=lambda item: item[1])
    return [f"{result.file}: no transaction was counted: all {left_out:,} were left out, "
            f"{'all' if count == left_out else f'{count:,}'} of them as {reason}: {_LIKELY_CAUSES.get(reason, '')}".rstrip(": ")]
