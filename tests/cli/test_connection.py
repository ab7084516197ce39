"""`esexchange connection ...` as an administrator types it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from esexchange import config
from esexchange.cli import app
from esexchange.erp.db import open_engine
from tests.cli.conftest import Run, runner_for

PASSWORD = "Corr3ct-Horse-Battery"
ADD_CONTOSO = ("connection", "add", "contoso", "--backend", "ews",
               "--ews-url", "https://mail.contoso.com/EWS/Exchange.asmx",
               "--auth", "user", "--upn", "svc-esx@contoso.com", "--password-stdin")


def test_a_connection_added_with_the_password_on_stdin_never_shows_it(
    config_db_url: str,
) -> None:
    esx = runner_for(config_db_url)  # SQLite and PostgreSQL
    added = esx(*ADD_CONTOSO, input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "Added connection contoso" in added.stdout
    listed = esx("connection", "list")
    shown = esx("connection", "show", "contoso")
    assert listed.exit_code == shown.exit_code == 0
    assert "https://mail.contoso.com/EWS/Exchange.asmx" in listed.stdout
    assert "user svc-esx@contoso.com" in listed.stdout
    assert "stored, encrypted" in shown.stdout
    for output in (added.output, listed.output, shown.output):
        assert PASSWORD not in output


def test_the_password_is_not_in_the_database_file(esx: Run, config_sqlite_url: str) -> None:
    assert esx(*ADD_CONTOSO, input=PASSWORD + "\n").exit_code == 0
    database = Path(config_sqlite_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert b"svc-esx@contoso.com" in stored  # the row is there...
    assert PASSWORD.encode() not in stored  # ...without the password in clear


def test_without_stdin_the_password_is_asked_hidden_twice(esx: Run) -> None:
    args = [a for a in ADD_CONTOSO if a != "--password-stdin"]
    result = esx(*args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password for svc-esx@contoso.com" in result.output
    assert PASSWORD not in result.output


def test_a_down_level_logon_name_is_explained(esx: Run) -> None:
    args = [a if a != "svc-esx@contoso.com" else "CONTOSO\\svc-esx" for a in ADD_CONTOSO]
    result = esx(*args, input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "down-level logon name" in result.stderr
    assert "user@domain" in result.stderr
    assert "svc-esx@contoso.com" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "No connections yet" in esx("connection", "list").stdout


def test_an_unknown_time_zone_is_refused(esx: Run) -> None:
    result = esx(*ADD_CONTOSO, "--erp-time-zone", "Europe/Atlantis", input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "erp_time_zone" in result.stderr and "Europe/Atlantis" in result.stderr


def test_an_app_connection_takes_the_client_secret_on_stdin(esx: Run) -> None:
    result = esx("connection", "add", "fabrikam", "--autodiscover", "admin@fabrikam.com",
                 "--auth", "app", "--tenant-id", "tenant-1", "--client-id", "client-1",
                 "--client-secret-stdin", "--token-url", "https://127.0.0.1:8443/token",
                 "--erp-time-zone", "Europe/Berlin", input="client-secret-value")
    assert result.exit_code == 0, result.output
    shown = esx("connection", "show", "fabrikam").stdout
    assert "Autodiscover for admin@fabrikam.com" in shown
    assert "app client-1 (tenant tenant-1)" in shown
    assert "Europe/Berlin" in shown
    assert "client-secret-value" not in shown


def test_an_autodiscover_service_is_shown_and_needs_an_address(esx: Run) -> None:
    service = "https://ad.fabrikam.com/autodiscover/autodiscover.svc"
    alone = esx(*ADD_CONTOSO, "--autodiscover-url", service, input=PASSWORD)
    assert alone.exit_code == 2
    assert "give --autodiscover EMAIL too" in alone.stderr
    assert "No connections yet" in esx("connection", "list").stdout

    added = esx("connection", "add", "fabrikam", "--autodiscover", "admin@fabrikam.com",
                "--autodiscover-url", service, "--auth", "user", "--upn",
                "svc-esx@fabrikam.com", "--password-stdin", input=PASSWORD)
    assert added.exit_code == 0, added.output
    shown = esx("connection", "show", "fabrikam").stdout
    assert f"admin@fabrikam.com at {service} (runs on the first pass or check)" in shown


def test_accepting_an_untrusted_certificate_is_warned_about(esx: Run) -> None:
    result = esx(*ADD_CONTOSO, "--accept-untrusted-certificate", input=PASSWORD)
    assert result.exit_code == 0
    assert "does NOT verify" in result.stderr
    assert "OFF" in esx("connection", "show", "contoso").stdout


def test_a_removed_connection_is_gone_and_unknown_names_list_the_known(esx: Run) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)
    assert esx("connection", "remove", "contoso").exit_code == 0
    missing = esx("connection", "show", "contoso")
    assert missing.exit_code == 2
    assert "no connection named 'contoso'" in missing.stderr
    assert "esexchange connection add" in missing.stderr


def test_the_secret_can_be_replaced(esx: Run, config_sqlite_url: str) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)
    result = esx("connection", "secret", "contoso", "--stdin", input="new-password\n")
    assert result.exit_code == 0
    assert "new-password" not in result.output
    engine = open_engine(config_sqlite_url)
    assert config.connection_secret(engine, "contoso") == "new-password"
    engine.dispose()


def test_the_database_comes_from_the_environment(config_sqlite_url: str, key_file: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["connection", "list"], env={"ESEXCHANGE_DB": config_sqlite_url})
    assert result.exit_code == 0
    assert "No connections yet" in result.stdout


def test_no_database_says_how_to_give_one() -> None:
    result = CliRunner().invoke(app, ["connection", "list"], env={"ESEXCHANGE_DB": ""})
    assert result.exit_code == 2
    assert "--db URL" in result.stderr and "ESEXCHANGE_DB" in result.stderr


def test_a_database_without_the_script_says_to_install_it(sqlite_url: str) -> None:
    result = CliRunner().invoke(app, ["connection", "list", "--db", sqlite_url])
    assert result.exit_code == 2
    assert "esexchange db install" in result.stderr
