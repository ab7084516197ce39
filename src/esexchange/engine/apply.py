"""Apply: a plan's steps, each pair as a unit that fails alone.

First the Exchange writes of every step, in batches (creates carry the ERP id stamp).
An element that fails fails its pair; a batch that fails as a whole (the mailbox
became unreachable) fails the steps it and the later batches carried, whose writes may
or may not have happened: their links stay as they were, and the next pass finds out
(stamps, listings). Then, inside the caller's ERP transaction, each step whose Exchange
write succeeded (or that has none) records its ERP write, its link (with the id and
version the Exchange write returned) and its conflicts, up to ``PAIRS_TOGETHER`` pairs in
one savepoint (the store sends their link and audit rows in one batch): a pair the ERP
refuses rolls back only itself (its savepoint is undone and its pairs are recorded again
one savepoint each), and the other pairs of the pass are applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from esexchange.domain.actions import (
    CreateInErp,
    CreateInExchange,
    DeleteInErp,
    DeleteInExchange,
    Detach,
    DropLink,
    PairStep,
    SaveLink,
    UpdateInErp,
    UpdateInExchange,
    UpdateOccurrence,
)
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.model import ItemRef, Kind, OccurrenceKey, Side
from esexchange.engine.fetch import chunks
from esexchange.engine.report import KindReport
from esexchange.erp.errors import PairWriteFailed
from esexchange.erp.port import ErpTransaction, Scope
from esexchange.exchange.errors import MailboxError
from esexchange.exchange.port import (
    BatchResult,
    ExchangeUpdate,
    Mailbox,
    OccurrenceUpdate,
    OwnWrites,
)


@dataclass
class ExchangeOutcomes:
    """What the Exchange writes of a plan's steps answered, by step index."""

    refs: dict[int, ItemRef] = field(default_factory=dict)
    """New identity and version of the items created or updated."""
    errors: dict[int, Exception] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    occurrences: dict[int, OccurrenceKey] = field(default_factory=dict)
    """The occurrence each occurrence write reached (with the id of a series created
    in the same pass)."""

    def own_writes(self, steps: Sequence[PairStep]) -> OwnWrites:
        """What the pass wrote to the folder, for ``Mailbox.state_after_writes``."""
        created = tuple(ref for i, ref in self.refs.items()
                        if isinstance(steps[i].exchange, CreateInExchange))
        updated = tuple(ref for i, ref in self.refs.items()
                        if isinstance(steps[i].exchange, UpdateInExchange))
        deleted = []
        for i in sorted(self.deleted):
            write = steps[i].exchange
            assert isinstance(write, DeleteInExchange)
            deleted.append(write.ref.id)
        return OwnWrites(created, updated, tuple(deleted))


def write_exchange(
    mailbox: Mailbox, steps: Sequence[PairStep], batch_size: int
) -> ExchangeOutcomes:
    """The Exchange writes of ``steps``: creates, updates, deletes, each in batches."""
    outcomes = ExchangeOutcomes()
    creates = [(i, s.exchange) for i, s in enumerate(steps)
               if isinstance(s.exchange, CreateInExchange)]
    updates = [(i, s.exchange) for i, s in enumerate(steps)
               if isinstance(s.exchange, UpdateInExchange)]
    deletes = [(i, s.exchange) for i, s in enumerate(steps)
               if isinstance(s.exchange, DeleteInExchange)]
    occurrence_writes = [(i, s.exchange) for i, s in enumerate(steps)
                         if isinstance(s.exchange, UpdateOccurrence)]
    try:
        for create_batch in chunks(creates, batch_size):
            created = mailbox.create([write.item for _, write in create_batch])
            _record_refs(outcomes, [i for i, _ in create_batch], created)
        for update_batch in chunks(updates, batch_size):
            updated = mailbox.update(
                [ExchangeUpdate(w.ref, w.item, w.fields) for _, w in update_batch]
            )
            _record_refs(outcomes, [i for i, _ in update_batch], updated)
        _write_occurrences(mailbox, steps, occurrence_writes, outcomes, batch_size)
        for delete_batch in chunks(deletes, batch_size):
            results = mailbox.delete([write.ref for _, write in delete_batch])
            for (i, _), result in zip(delete_batch, results, strict=True):
                if result.ok:
                    outcomes.deleted.add(i)
                else:
                    outcomes.errors[i] = _error(result)
    except MailboxError as error:
        answered = outcomes.refs.keys() | outcomes.errors.keys() | outcomes.deleted
        for i, _ in (*creates, *updates, *occurrence_writes, *deletes):
            if i not in answered:
                outcomes.errors[i] = error
    return outcomes


def _write_occurrences(
    mailbox: Mailbox, steps: Sequence[PairStep],
    writes: Sequence[tuple[int, UpdateOccurrence]], outcomes: ExchangeOutcomes,
    batch_size: int,
) -> None:
    """Occurrence writes, after the series' creates and updates; an occurrence of a
    series this pass created gets that series' new id (none if its create failed)."""
    created = {step.exchange.erp_id: outcomes.refs[i].id for i, step in enumerate(steps)
               if isinstance(step.exchange, CreateInExchange) and i in outcomes.refs}
    ready: list[tuple[int, OccurrenceUpdate]] = []
    for i, write in writes:
        key = write.key
        if not key.series_id:
            series_id = created.get(write.series_erp_id)
            if series_id is None:
                outcomes.errors[i] = MailboxError(
                    f"the series of ERP activity {write.series_erp_id} was not created")
                continue
            key = OccurrenceKey(series_id, key.original_start)
        outcomes.occurrences[i] = key
        ready.append((i, OccurrenceUpdate(key, write.item, write.fields, write.ref)))
    for batch in chunks(ready, batch_size):
        written = mailbox.update_occurrences([update for _, update in batch])
        _record_refs(outcomes, [i for i, _ in batch], written)


def _record_refs(
    outcomes: ExchangeOutcomes, indexes: Sequence[int], results: Sequence[BatchResult[ItemRef]]
) -> None:
    for i, result in zip(indexes, results, strict=True):
        if result.ok and result.value is not None:
            outcomes.refs[i] = result.value
        else:
            outcomes.errors[i] = _error(result)


def _error(result: BatchResult[ItemRef] | BatchResult[None]) -> Exception:
    return result.error or MailboxError("the server answered without a result")


@dataclass(frozen=True)
class PairFailure:
    """A pair whose step failed this pass: who it is, in words, and why."""

    erp_id: int | None
    exchange_id: str | None
    label: str
    error: str


PAIRS_TOGETHER = 100
"""Pairs recorded in one savepoint (one batch of link and audit writes)."""


class PairRecorder:
    """Records applied steps in one ERP transaction, in savepoints of many pairs; a pair
    the ERP refuses is undone alone (its savepoint's pairs are recorded again one by one)."""

    def __init__(
        self, tx: ErpTransaction, scope: Scope, kind: Kind, employee_id: int, mailbox: str,
        report: KindReport,
    ) -> None:
        self.tx, self.scope, self.kind = tx, scope, kind
        self.employee_id, self.mailbox, self.report = employee_id, mailbox, report
        self.failures: list[PairFailure] = []
        self.created_erp: dict[str, int] = {}
        """ERP ids of the activities this pass imported, by Exchange id (a series' id
        for its occurrences imported in the same pass)."""

    def apply(self, steps: Sequence[PairStep], outcomes: ExchangeOutcomes,
              together: int = PAIRS_TOGETHER) -> None:
        """Record every step; ``together`` pairs share a savepoint (their link and audit
        writes go to the database in one batch), and when one of them is refused, that
        savepoint is undone and its pairs are recorded again one savepoint each, so only
        the refused pair fails."""
        for start in range(0, len(steps), together):
            indices = range(start, min(start + together, len(steps)))
            if not self._apply_together(steps, outcomes, indices):
                for i in indices:
                    self._apply_one(i, steps[i], outcomes)

    def _apply_together(self, steps: Sequence[PairStep], outcomes: ExchangeOutcomes,
                        indices: range) -> bool:
        """The steps at ``indices`` in one savepoint; False (nothing kept) if one failed."""
        imported = dict(self.created_erp)
        try:
            with self.tx.savepoint():
                for i in indices:
                    if i not in outcomes.errors:
                        self._record(steps[i], outcomes.refs.get(i), outcomes.occurrences.get(i))
        except EsExchangeError:
            self.created_erp = imported  # those imports were undone with the savepoint
            return False
        for i in indices:
            error = outcomes.errors.get(i)
            if error is not None:
                self._fail(steps[i], outcomes.refs.get(i), Side.EXCHANGE, error)
            else:
                self.report.count_step(steps[i])
        return True

    def _apply_one(self, i: int, step: PairStep, outcomes: ExchangeOutcomes) -> None:
        error = outcomes.errors.get(i)
        ref = outcomes.refs.get(i)
        if error is not None:
            self._fail(step, ref, Side.EXCHANGE, error)
            return
        try:
            with self.tx.savepoint():
                self._record(step, ref, outcomes.occurrences.get(i))
        except EsExchangeError as refused:
            self._fail(step, ref, Side.ERP, refused)
            if step.exchange is not None:
                self._record_conflicts_alone(step)
        else:
            self.report.count_step(step)

    def _record(self, step: PairStep, ref: ItemRef | None,
                occurrence: OccurrenceKey | None = None) -> None:
        """The ERP side of one step: its write, its link, its conflicts, audit lines.
        ``occurrence`` is the occurrence an occurrence write reached."""
        tx, scope, kind = self.tx, self.scope, self.kind
        write = step.exchange
        if isinstance(write, CreateInExchange):
            assert ref is not None
            tx.save_link(scope, replace(write.link, exchange_id=ref.id, version=ref.version))
            self._audit(write, write.erp_id, ref.id)
        elif isinstance(write, UpdateInExchange):
            self._audit(write, write.erp_id, write.ref.id)
        elif isinstance(write, DeleteInExchange):
            tx.drop_link(scope, kind, write.erp_id)
            self._audit(write, write.erp_id, write.ref.id)
        elif isinstance(write, UpdateOccurrence):
            key = occurrence or write.key
            if write.link is not None:
                assert ref is not None
                tx.save_link(scope, replace(write.link, exchange_id=str(key),
                                            version=ref.version))
            self._audit(write, write.erp_id, str(key))

        erp = step.erp
        if isinstance(erp, CreateInErp):
            activity = erp.activity
            if erp.series_exchange_id is not None:
                series_id = self.created_erp.get(erp.series_exchange_id)
                if series_id is None:
                    raise PairWriteFailed(
                        f"the series {erp.series_exchange_id} was not imported")
                activity = replace(activity, series_id=series_id)
            erp_id = tx.create_activity(activity, self.employee_id)
            self.created_erp[erp.exchange_id] = erp_id
            if erp.replaces is not None:
                tx.drop_link(scope, kind, erp.replaces)
            tx.save_link(scope, replace(erp.link, erp_id=erp_id))
            self._audit(erp, erp_id, erp.exchange_id)
        elif isinstance(erp, UpdateInErp):
            tx.update_activity(erp.erp_id, erp.activity, erp.fields)
            self._audit(erp, erp.erp_id, None)
        elif isinstance(erp, DeleteInErp):
            tx.delete_activity(erp.erp_id, employee_id=self.employee_id)
            tx.drop_link(scope, kind, erp.erp_id)
            self._audit(erp, erp.erp_id, erp.exchange_id)

        record = step.record
        if isinstance(record, SaveLink):
            link = record.link
            if ref is not None and ref.id == link.exchange_id:
                link = replace(link, version=ref.version)  # the version our update made
            tx.save_link(scope, link)
        elif isinstance(record, DropLink):
            tx.drop_link(scope, kind, record.erp_id)
        elif isinstance(record, Detach):
            tx.save_link(scope, record.link)
            self._audit(record, record.link.erp_id, record.link.exchange_id)

        self._record_conflicts(step)

    def _record_conflicts(self, step: PairStep) -> None:
        for conflict in step.conflicts:
            self.tx.record_conflict(
                self.scope, conflict.erp_id, conflict.field, conflict.erp_value,
                conflict.exchange_value, conflict.winner,
            )

    def _record_conflicts_alone(self, step: PairStep) -> None:
        """The conflicts of a pair whose ERP side was refused after its Exchange write
        happened: the winner's value is in Exchange now, so the record must not be lost
        (the next pass sees both sides equal and finds no conflict any more)."""
        if not step.conflicts:
            return
        try:
            with self.tx.savepoint():
                self._record_conflicts(step)
        except EsExchangeError:
            return
        self.report.count_step(PairStep(conflicts=step.conflicts))

    def _audit(self, action: object, erp_id: int | None, exchange_id: str | None) -> None:
        self.tx.audit(self.scope, type(action).__name__, erp_id, exchange_id, str(self.kind))

    def _fail(self, step: PairStep, ref: ItemRef | None, side: Side, error: Exception) -> None:
        label = describe(step)
        self.report.fail(side, f"mailbox {self.mailbox}, {self.kind} {label}: {error}")
        # An Exchange copy the step made is known by id from now on (retried by id).
        exchange_id = ref.id if ref is not None else step.exchange_id
        erp_id = step.erp_id
        # An occurrence pair is retried with its series (planned with the master).
        if isinstance(step.exchange, UpdateOccurrence) and step.exchange.series_erp_id:
            erp_id, exchange_id = step.exchange.series_erp_id, step.exchange.key.series_id
        elif isinstance(step.erp, CreateInErp) and step.erp.activity.series_id:
            erp_id, exchange_id = step.erp.activity.series_id, None
        elif isinstance(step.erp, CreateInErp) and step.erp.series_exchange_id:
            exchange_id = step.erp.series_exchange_id
        self.failures.append(PairFailure(erp_id, exchange_id or None, label, str(error)))


def describe(step: PairStep) -> str:
    """The pair in words: its ERP id and subject, or the Exchange item it imports."""
    if isinstance(step.erp, CreateInErp):
        return f"{step.erp.activity.subject!r} ({step.erp.exchange_id})"
    what = ""
    if isinstance(step.exchange, CreateInExchange | UpdateInExchange | UpdateOccurrence):
        what = step.exchange.item.subject
    elif isinstance(step.erp, UpdateInErp):
        what = step.erp.activity.subject
    elif step.exchange_id:
        what = step.exchange_id
    return f"ERP activity {step.erp_id}" + (f" ({what})" if what else "")
