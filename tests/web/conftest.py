"""The console's world: one ``esexchange run`` per module on the end-to-end ERP (SQLite)
and EWS sandbox, an admin account, and a browser signed in or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from esexchange.service.admins import create_admin
from tests.e2e.conftest import _secret_key, backend, erp, sandbox, world  # noqa: F401 - fixtures
from tests.support.service import ServiceProcess, services

ADMIN, PASSWORD = "erika", "correct horse battery"


@pytest.fixture(scope="module")
def console(erp: Engine,  # noqa: F811 - the fixture imported above
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service with its console, passing every mailbox every second."""
    create_admin(erp, ADMIN, PASSWORD)
    with services(tmp_path_factory.mktemp("console")) as start:
        service = start(erp, "--interval-seconds", "1", "--workers", "2")
        yield service
        assert service.stop() == 0


def sign_in(page: Any, console: ServiceProcess, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/signin")
    page.fill("input[name=name]", ADMIN)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.fixture
def admin_page(browser_page: Any, console: ServiceProcess) -> Any:
    """A browser signed in as the admin."""
    sign_in(browser_page, console)
    browser_page.wait_for_url("**/status")
    return browser_page
