"""Shared fixtures: every module in tests/support/ is a pytest plugin (PostgreSQL cluster,
EWS sandbox, hypothesis profiles, ...), so each area adds its fixtures without editing here."""

from pathlib import Path

pytest_plugins = [
    f"tests.support.{path.stem}"
    for path in sorted((Path(__file__).parent / "support").glob("*.py"))
    if path.stem != "__init__"
]
