"""Hypothesis profiles: ``dev`` (default, quick), ``ci`` (the examples the sync's
properties must survive in CI), ``debug`` (no shrinking, for a first look at a
failure) and ``mutation`` (``make mutate``: the same examples on every run, so a
mutant's verdict does not depend on luck). Choose one with ``HYPOTHESIS_PROFILE``."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "debug", parent=settings.get_profile("dev"), phases=[Phase.explicit, Phase.generate]
)
settings.register_profile(
    "mutation",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
