"""Running ``esexchange`` in process, as a user types it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from typer.testing import CliRunner

from esexchange.cli import app

Run = Callable[..., Result]


@pytest.fixture
def esx(config_sqlite_url: str) -> Run:
    """``esx("connection", "list", input=...)`` runs the command against the test database."""
    return runner_for(config_sqlite_url)


@pytest.fixture
def contoso(esx: Run) -> str:
    """A connection named ``contoso`` (user sign-in), added through the CLI."""
    result = esx("connection", "add", "contoso", "--ews-url", "https://mail.contoso.com/EWS",
                 "--auth", "user", "--upn", "svc@contoso.com", "--password-stdin", input="pw")
    assert result.exit_code == 0, result.output
    return "contoso"


def runner_for(url: str) -> Run:
    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, [*args, "--db", url], input=input, env=env)

    return run
