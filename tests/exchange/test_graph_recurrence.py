"""Graph's ``patternedRecurrence`` as ``to_graph`` writes it follows the shipped Graph v1.0
description, for every pattern and range (the schema check the Graph sandbox uses)."""

from __future__ import annotations

from hypothesis import given

from esexchange.domain.recurrence import Recurrence, from_graph, to_graph
from esexchange.sandbox.graph import schema
from tests.domain.recurrence_support import recurrences


@given(recurrences())
def test_to_graph_follows_the_graph_description(series: Recurrence) -> None:
    written = to_graph(series)
    schema.check(schema.component("microsoft.graph.patternedRecurrence"), written,
                 "patternedRecurrence")
    assert from_graph(written, start=series.start, time_zone=series.time_zone) == series
