"""``esexchange.status``: the last pass and the conflicts per mailbox, on both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from esexchange import config
from esexchange.config import Auth, Backend, ConnectionConfig
from esexchange.erp.db import open_engine
from esexchange.erp.schema import esx_conflict, esx_cursor
from esexchange.status import mailbox_status
from tests.support.config_db import record_pass

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(config_db_url: str) -> Iterator[Engine]:
    engine = open_engine(config_db_url)
    connection = ConnectionConfig(name="contoso", backend=Backend.EWS, auth=Auth.USER,
                                  ews_url="https://mail.contoso.com/EWS", upn="svc@contoso.com")
    config.add_connection(engine, connection, "pw")
    config.add_personnel(engine, "contoso", ["anna.berg@example.com", "bernd.lang@example.com",
                                             "dora.exner@example.com"])
    yield engine
    engine.dispose()


def test_the_newest_pass_and_the_conflicts_of_each_mailbox(engine: Engine) -> None:
    moved = {"created": 2, "updated": 1, "deleted": 0, "detached": 0}
    record_pass(engine, 1, T0, "failed", {"problem": "mailbox unreachable"})
    record_pass(engine, 1, T0 + timedelta(minutes=5), "partial",
                {"to_exchange": moved, "to_erp": {"created": 4}, "conflicts": 1,
                 "failures": ["item 7: subject too long"]})
    with engine.begin() as db:
        db.execute(insert(esx_cursor), [
            {"connection_id": 1, "employee_id": 1, "kind": kind, "erp_seq": 9,
             "updated_at": T0 + timedelta(minutes=minutes)}
            for kind, minutes in (("appointment", 5), ("task", 4))
        ])
        db.execute(insert(esx_conflict), [
            {"connection_id": 1, "employee_id": 1, "erp_id": 7, "field": "subject",
             "erp_value": "a", "exchange_value": "b", "winner": "erp",
             "at": T0 + timedelta(minutes=m)}
            for m in (1, 5)
        ])
    rows = {row.employee.email.lower(): row for row in mailbox_status(engine)}
    anna = rows["anna.berg@example.com"]
    assert anna.last_pass is not None
    assert (anna.last_pass.outcome, anna.last_pass.to_exchange, anna.last_pass.to_erp,
            anna.last_pass.failures) == ("partial", 3, 4, 1)
    assert anna.last_pass.started_at == T0 + timedelta(minutes=5)
    assert anna.synced_up_to == T0 + timedelta(minutes=4)
    assert (anna.conflicts, anna.last_conflict_at) == (2, T0 + timedelta(minutes=5))
    dora = rows["dora.exner@example.com"]
    assert (dora.last_pass, dora.conflicts, dora.synced_up_to) == (None, 0, None)
    assert not rows["bernd.lang@example.com"].employee.syncable


def test_status_of_an_unknown_connection_names_the_known(engine: Engine) -> None:
    with pytest.raises(config.ConnectionNotFound, match="contoso"):
        mailbox_status(engine, "northwind")
