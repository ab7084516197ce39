"""How a run looks on a terminal: a Rich progress bar while it runs, a table after.

Shared by ``esexchange sync`` and ``esexchange demo``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from esexchange.domain.model import Employee
from esexchange.service.runner import MailboxOutcome
from esexchange.service.summary import Movement, movement


class ProgressBar:
    """A ``service.runner.Progress`` drawn as one Rich bar over the mailboxes."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task = progress.add_task(label, total=None)

    def begin(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def mailbox_started(self, employee: Employee) -> None:
        self._progress.update(self._task, description=f"{self._label}: {escape(employee.email)}")

    def mailbox_done(self, outcome: MailboxOutcome) -> None:
        self._progress.advance(self._task)


@contextmanager
def progress_bar(console: Console, label: str) -> Iterator[ProgressBar]:
    """A progress bar that disappears when done (the table says what happened)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield ProgressBar(progress, label)


def outcome_table(title: str, outcomes: list[MailboxOutcome], *, dry_run: bool = False) -> Table:
    """One row per employee: what moved each way, conflicts, and what went wrong."""
    verb = "would move" if dry_run else "moved"
    table = Table(title=title, title_justify="left")
    table.add_column("Employee")
    table.add_column(f"ERP → Exchange ({verb})", justify="right")
    table.add_column(f"Exchange → ERP ({verb})", justify="right")
    table.add_column("Conflicts", justify="right")
    table.add_column("Result")
    for outcome in outcomes:
        moved = movement(outcome.report) if outcome.report is not None else None
        table.add_row(
            escape(f"{outcome.employee.name} <{outcome.employee.email}>"),
            _moved_text(moved.to_exchange) if moved else "-",
            _moved_text(moved.to_erp) if moved else "-",
            str(moved.conflicts) if moved else "-",
            _result_text(outcome, moved),
        )
    return table


def item_lines(outcomes: list[MailboxOutcome]) -> list[str]:
    """``sync -v``: each item that failed or was skipped, with its mailbox and why."""
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.report is None:
            continue
        lines += [f"failed: {failure}" for failure in outcome.report.failures]
        lines += [f"skipped: {skipped}" for skipped in outcome.report.skipped]
    return lines


def _moved_text(counts: dict[str, int]) -> str:
    parts = [f"{n} {what}" for what, n in counts.items() if n]
    return ", ".join(parts) if parts else "0"


def _result_text(outcome: MailboxOutcome, moved: Movement | None) -> str:
    if outcome.problem:
        return f"[red]{escape(outcome.problem)}[/]"
    notes = list(moved.notes) if moved else []
    if not notes:
        return "[green]ok[/]"
    return "[yellow]" + escape("; ".join(notes)) + "[/]"
