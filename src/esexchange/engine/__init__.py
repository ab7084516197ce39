"""The sync engine: one pass over one mailbox, fetch -> plan -> apply -> report.

Modules: ``run`` (the pass, kind by kind, and its cursor), ``fetch`` (both sides'
changes and what the planner needs besides), ``apply`` (Exchange writes in batches,
then each pair in its own ERP savepoint), ``report`` (what a pass did, counted). The
rules themselves live in ``esexchange.domain.planner``; the engine only moves data.
"""

from esexchange.engine.report import KindReport, Outcome, PassReport
from esexchange.engine.run import DEFAULT_BATCH_SIZE, run_pass

__all__ = [
    "DEFAULT_BATCH_SIZE", "KindReport", "Outcome", "PassReport", "run_pass",
]
