"""Realism knobs of the Graph sandbox: Exchange Online's slowness and failures, repeatably.

- ``latency_ms``: every request waits this long before it is served.
- ``throttle_rate``: share of requests (and of the sub-requests of a ``$batch``, each
  drawn on its own, as Graph evaluates them) answered ``429 Too Many Requests`` with
  ``Retry-After: retry_after_s``.
- ``http_503_rate``: share answered ``503 Service Unavailable``.
- ``drop_rate``: share whose connection is closed without an answer.
- ``lost_answer_rate``: share that is served, whose answer is then lost (the connection
  closes before it leaves, as behind a proxy that timed out): a client cannot tell whether
  what it asked for happened.
- ``max_concurrent_per_mailbox``: Outlook's limit of concurrent requests per app and
  mailbox (4 in Exchange Online); one more is ``429`` "Application is over its
  MailboxConcurrency limit." It is always in force, unlike the others.

One seeded random draw per request (and per sub-request) decides, so a run with the same
seed and request order injects the same failures. ``counters`` say what was injected.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from esexchange.sandbox.graph.errors import GraphError

MAILBOX_CONCURRENCY = 4
_RATES = ("throttle_rate", "http_503_rate", "drop_rate", "lost_answer_rate")


@dataclass(frozen=True)
class GraphKnobs:
    """What to inject; only the concurrency limit is on by default. Rates are 0 to 1."""

    latency_ms: int = 0
    throttle_rate: float = 0.0
    retry_after_s: int = 1
    http_503_rate: float = 0.0
    drop_rate: float = 0.0
    lost_answer_rate: float = 0.0
    max_concurrent_per_mailbox: int = MAILBOX_CONCURRENCY
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"knob {name} must be between 0 and 1, not {getattr(self, name)}")
        if sum(getattr(self, name) for name in _RATES) > 1.0:
            raise ValueError(f"knobs {', '.join(_RATES)} must add up to at most 1")
        for name in ("latency_ms", "retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"knob {name} must not be negative, not {getattr(self, name)}")
        if self.max_concurrent_per_mailbox < 1:
            raise ValueError("knob max_concurrent_per_mailbox must be at least 1")

    @classmethod
    def from_string(cls, text: str) -> GraphKnobs:
        """Knobs from ``name=value`` pairs separated by commas, e.g. ``throttle_rate=0.1``."""
        names = [f.name for f in dataclass_fields(cls)]
        values: dict[str, Any] = {}
        for pair in filter(None, (p.strip() for p in text.split(","))):
            name, equals, raw = (part.strip() for part in pair.partition("="))
            if name not in names or not equals:
                raise ValueError(
                    f"unknown knob {pair!r} (knobs are name=value with: {', '.join(names)})"
                )
            try:
                values[name] = float(raw) if name.endswith("_rate") else int(raw)
            except ValueError:
                raise ValueError(f"knob {name} needs a number, not {raw!r}") from None
        return cls(**values)


@dataclass
class GraphKnobCounters:
    requests: int = 0
    throttled: int = 0
    http_503: int = 0
    dropped: int = 0
    lost_answers: int = 0
    concurrency_limit: int = 0


class Injector:
    """Draws what happens to each request; holds the in-flight count per app and mailbox."""

    def __init__(self, knobs: GraphKnobs) -> None:
        self.counters = GraphKnobCounters()
        self.in_flight: Counter[tuple[str, str]] = Counter()
        self.knobs = knobs

    @property
    def knobs(self) -> GraphKnobs:
        return self._knobs

    @knobs.setter
    def knobs(self, knobs: GraphKnobs) -> None:
        self._knobs = knobs
        self._random = random.Random(knobs.seed)

    def draw(self, part: str = "request") -> str | None:
        """``throttle``, ``503``, ``drop``, ``lost`` or None for one `part` of the traffic.

        A ``request`` may meet any of them, a ``batch`` envelope all but throttling (its
        sub-requests are throttled one by one), a batch ``item`` only throttling.
        """
        knobs = self.knobs
        value = self._random.random()
        if part != "batch" and value < knobs.throttle_rate:
            self.counters.throttled += 1
            return "throttle"
        if part == "item":
            return None
        if part != "batch":
            value -= knobs.throttle_rate
        if value < knobs.http_503_rate:
            self.counters.http_503 += 1
            return "503"
        value -= knobs.http_503_rate
        if value < knobs.drop_rate:
            self.counters.dropped += 1
            return "drop"
        if value - knobs.drop_rate < knobs.lost_answer_rate:
            self.counters.lost_answers += 1
            return "lost"
        return None

    def throttled(self) -> GraphError:
        return GraphError(
            429,
            "ApplicationThrottled",
            "Application is over its incoming request limit.",
            headers={"Retry-After": str(self.knobs.retry_after_s)},
        )

    def acquire(self, caller: str, mailboxes: set[str]) -> set[str]:
        """Take a slot for each mailbox; returns the mailboxes that are over the limit."""
        limit = self.knobs.max_concurrent_per_mailbox
        full = {m for m in mailboxes if self.in_flight[(caller, m)] >= limit}
        for mailbox in mailboxes - full:
            self.in_flight[(caller, mailbox)] += 1
        if full:
            self.counters.concurrency_limit += 1
        return full

    def release(self, caller: str, mailboxes: set[str]) -> None:
        for mailbox in mailboxes:
            self.in_flight[(caller, mailbox)] -= 1

    def over_limit(self) -> GraphError:
        return GraphError(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            headers={"Retry-After": str(self.knobs.retry_after_s)},
        )
