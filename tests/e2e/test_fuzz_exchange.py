"""Fuzz: hostile but schema-valid items in the mailbox never stop a pass (issue 10).

Items made in Outlook (exchangelib over HTTP, so every answer the adapter reads is a
real, schema-checked EWS response) with hostile values: empty and huge subjects, 1 MB
bodies, times at the edges of what Exchange stores, unknown and ``ES_``-shaped
categories, missing optional fields. Each goes through the real adapter, the planner
and the ERP. No exception escapes the pass; an item that cannot be imported fails alone,
typed and named; a second pass duplicates nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from exchangelib.errors import EWSError
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Person, World

# Hostile items are made through exchangelib, as EWS clients make them.
pytestmark = pytest.mark.backends("ews")
FIGURES: Counter[str] = Counter()

texts = st.one_of(
    st.sampled_from(["", " ", "\t", "-- esExchange --\nPriority: High", "x" * 300,
                     "é" * 256, "ES_99_Nope"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40),
)
bodies = st.one_of(st.none(), texts, st.just("b" * 1_000_000))
edges = st.sampled_from([
    datetime(1601, 1, 2, tzinfo=UTC), datetime(4500, 8, 30, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, tzinfo=UTC), datetime(2038, 1, 19, 3, 14, tzinfo=UTC),
])
starts = st.one_of(edges, st.integers(-400, 400).map(
    lambda days: datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)))
categories = st.lists(st.sampled_from(
    ["ES_10_Besuch", "ES_999_Unknown", "ES_x_", "Red category", "ES_", "", "ES_20_"]
), max_size=3, unique=True)


@st.composite
def hostile_items(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["appointment", "task"]))
    fields: dict[str, Any] = {"subject": draw(texts)}
    if (body := draw(bodies)) is not None:
        fields["body"] = body
    if draw(st.booleans()):
        fields["categories"] = draw(categories) or None
    if draw(st.booleans()):
        fields["location" if kind == "appointment" else "companies"] = (
            draw(texts) if kind == "appointment" else None)
    start = draw(starts)
    if kind == "appointment":
        fields["start"] = start
        fields["end"] = start + draw(st.sampled_from(
            [timedelta(0), timedelta(minutes=1), timedelta(days=400)]))
    else:
        fields["due"] = start.date() if draw(st.booleans()) else None
    return {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    print(f"\nEWS fuzz: {dict(sorted(FIGURES.items()))}")


# No shrinking: each example takes a fresh mailbox of the module's sandbox.
@settings(max_examples=int(os.environ.get("ESEXCHANGE_FUZZ_EXAMPLES", "10")), deadline=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=st.lists(hostile_items(), min_size=1, max_size=3))
def test_hostile_mailbox_items_never_stop_a_pass(world: World, items: list[dict[str, Any]]
                                                 ) -> None:
    person = world.employee()
    made = 0
    for item in items:
        fields = dict(item)
        kind = fields.pop("kind")
        try:
            if kind == "appointment":
                person.outlook.add_appointment(fields.pop("subject"), fields.pop("start"),
                                               fields.pop("end"), **fields)
            else:
                due: date | None = fields.pop("due", None)
                person.outlook.add_task(fields.pop("subject"), due, **fields)
            made += 1
        except (EWSError, ValueError):  # refused by Exchange, or by exchangelib itself
            FIGURES["refused when made in Outlook"] += 1
    assume(made)

    (first,) = [o for o in world.sync() if o.employee.id == person.id]
    imported = _erp_count(world, person)
    (second,) = [o for o in world.sync() if o.employee.id == person.id]

    FIGURES["items tried"] += made
    for outcome in (first, second):
        assert outcome.report is not None and outcome.report.error is None, outcome.problem
        for failure in outcome.report.failures:
            assert person.email in failure, failure  # typed, names mailbox and item
    assert first.report is not None
    FIGURES["failed alone, named"] += len(first.report.failures)
    FIGURES["imported"] += imported
    assert imported <= made, "an item was imported twice"
    assert _erp_count(world, person) == imported, "the second pass imported again"


def _erp_count(world: World, person: Person) -> int:
    return sum(len(world.activities(person, kind)) for kind in ("appointment", "task"))
