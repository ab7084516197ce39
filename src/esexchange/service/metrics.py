"""The service's Prometheus metrics, served at ``/metrics``.

Counters are fed from each mailbox's outcome as passes end; the lease holders and the
parked items are read from ``esx_lease`` and ``esx_retry`` when Prometheus asks, so every
worker reports the same, current, picture. No label ever carries a secret: labels are
outcomes, kinds, directions, EWS operation names and worker names.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from esexchange.domain.model import Side
from esexchange.engine import Outcome
from esexchange.erp.schema import esx_lease, esx_retry
from esexchange.service.runner import MailboxOutcome, outcome_word

DIRECTION = {Side.EXCHANGE: "to_exchange", Side.ERP: "to_erp"}


class ServiceMetrics:
    """The metrics of one ``esexchange run`` process, in their own registry."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.passes = Counter("esexchange_passes", "Mailbox passes, by outcome",
                              ["outcome"], registry=r)
        self.items = Counter("esexchange_items",
                             "Items written, by kind, direction and action",
                             ["kind", "direction", "action"], registry=r)
        self.errors = Counter("esexchange_errors",
                              "Errors: failed_items, failed_passes, busy_mailboxes, "
                              "claimed_elsewhere", ["kind"], registry=r)
        self.conflicts = Counter("esexchange_conflicts",
                                 "Fields changed on both sides, resolved by the policy",
                                 registry=r)
        self.held = Counter("esexchange_held_deletions",
                            "Deletions held by the circuit breaker for approval", registry=r)
        self.requests = Counter("esexchange_requests", "Requests to Exchange",
                                ["backend", "operation"], registry=r)
        self.notifications = Counter(
            "esexchange_graph_notifications",
            "Graph change notifications received: accepted, lifecycle, bad_client_state "
            "(dropped), unknown_subscription (dropped), malformed", ["outcome"], registry=r)
        self.duration = Histogram(
            "esexchange_pass_duration_seconds", "Duration of one mailbox pass",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900), registry=r)
        r.register(_LeaseHolders(engine))

    def observe(self, outcome: MailboxOutcome, seconds: float) -> None:
        """Count one mailbox's pass."""
        self.passes.labels(outcome_word(outcome)).inc()
        self.duration.observe(seconds)
        for (backend, operation), count in outcome.requests.items():
            self.requests.labels(backend, operation).inc(count)
        if outcome.busy:
            self.errors.labels("busy_mailboxes").inc()
        report = outcome.report
        if report is None:
            if not outcome.busy:
                self.errors.labels("failed_passes").inc()
            return
        if report.error:
            self.errors.labels("failed_passes").inc()
        for kind, kind_report in report.kinds.items():
            for (side, what), count in kind_report.counts.items():
                if what is Outcome.CONFLICTS:
                    self.conflicts.inc(count)
                elif what is Outcome.HELD:
                    self.held.inc(count)
                elif what is Outcome.FAILED:
                    self.errors.labels("failed_items").inc(count)
                else:
                    self.items.labels(kind.value, DIRECTION[side], what.value).inc(count)


class _LeaseHolders(Collector):
    """Read from the database at each scrape, so every worker reports the same:
    ``esexchange_leases{holder}``, how many mailboxes each worker holds right now, and
    ``esexchange_parked_items{kind}``, the items waiting to be retried after a failure."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        leases = GaugeMetricFamily("esexchange_leases", "Mailbox leases held, by worker",
                                   labels=["holder"])
        parked = GaugeMetricFamily("esexchange_parked_items",
                                   "Items whose synchronization failed, waiting to be retried",
                                   labels=["kind"])
        try:
            with self._engine.connect() as db:
                holders = db.execute(select(esx_lease.c.holder, func.count())
                                     .group_by(esx_lease.c.holder)).all()
                kinds = db.execute(select(esx_retry.c.kind, func.count())
                                   .group_by(esx_retry.c.kind)).all()
        except SQLAlchemyError:
            holders, kinds = [], []  # /readyz reports the database; /metrics still answers
        for holder, count in holders:
            leases.add_metric([holder], count)
        for kind, count in kinds:
            parked.add_metric([kind], count)
        yield leases
        yield parked
