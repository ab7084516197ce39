"""`esexchange connection ...` as an administrator types it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from esexchange import config
from esexchange.cli import app
from esexchange.erp.db import open_engine
from esexchange.erp.schema import esx_link
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
    wrong = esx("connection", "secret", "contoso", "--client-secret-stdin", input="x\n")
    assert wrong.exit_code == 2 and "use --password-stdin" in wrong.stderr
    result = esx("connection", "secret", "contoso", "--password-stdin", input="new-password\n")
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


# --- connection set ------------------------------------------------------------------------

NEW_URL = "https://mail2.contoso.com/EWS/Exchange.asmx"


def _contoso_with_anna_linked(esx: Run, url: str) -> None:
    """Contoso with Anna on its list and one of her appointments linked."""
    assert esx(*ADD_CONTOSO, input=PASSWORD).exit_code == 0
    assert esx("personnel", "add", "contoso", "anna.berg@example.com").exit_code == 0
    engine = open_engine(url)
    with engine.begin() as db:
        db.execute(insert(esx_link).values(
            connection_id=config.get_connection(engine, "contoso").id, employee_id=1,
            kind="appointment", erp_id=7, exchange_id="AAMkAD-item-7", version="CK1",
            erp_seq=3, erp_hash="e", exchange_hash="x", synced_json="{}"))
    engine.dispose()


def _links(url: str) -> int:
    engine = open_engine(url)
    with engine.connect() as db:
        count = db.scalar(select(func.count()).select_from(esx_link))
    engine.dispose()
    return int(count or 0)


def test_a_new_ews_url_keeps_the_personnel_and_links(esx: Run, config_sqlite_url: str) -> None:
    _contoso_with_anna_linked(esx, config_sqlite_url)

    result = esx("connection", "set", "contoso", "--ews-url", NEW_URL)

    assert result.exit_code == 0, result.output
    assert f"server  {NEW_URL}  (was https://mail.contoso.com/EWS/Exchange.asmx)" in (
        result.stdout)
    assert NEW_URL in esx("connection", "show", "contoso").stdout
    assert "anna.berg@example.com" in esx("personnel", "list", "contoso").stdout
    assert _links(config_sqlite_url) == 1


def test_switching_to_autodiscover_finds_the_url_on_the_next_pass(esx: Run) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)
    service = "https://ad.contoso.com/autodiscover/autodiscover.svc"

    result = esx("connection", "set", "contoso", "--autodiscover", "admin@contoso.com",
                 "--autodiscover-url", service)

    assert result.exit_code == 0, result.output
    shown = esx("connection", "show", "contoso").stdout
    assert "Autodiscover for admin@contoso.com" in shown
    assert f"admin@contoso.com at {service} (runs on the first pass or check)" in shown
    assert "mail.contoso.com" not in shown


def test_a_ca_bundle_is_trusted_and_dropped_again(esx: Run, tmp_path: Path) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)
    bundle = tmp_path / "contoso-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")

    trusted = esx("connection", "set", "contoso", "--ca-bundle", str(bundle))
    assert trusted.exit_code == 0, trusted.output
    assert str(bundle) in esx("connection", "show", "contoso").stdout

    dropped = esx("connection", "set", "contoso", "--no-ca-bundle")
    assert dropped.exit_code == 0, dropped.output
    shown = esx("connection", "show", "contoso").stdout
    assert "system certificates" in shown and str(bundle) not in shown

    missing = esx("connection", "set", "contoso", "--ca-bundle", str(tmp_path / "none.pem"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_turning_certificate_verification_off_is_warned_about_and_on_again(esx: Run) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)

    off = esx("connection", "set", "contoso", "--accept-untrusted-certificate")
    assert off.exit_code == 0, off.output
    assert "does NOT verify" in off.stderr
    assert "OFF (untrusted certificates accepted)" in esx("connection", "show", "contoso").stdout

    on = esx("connection", "set", "contoso", "--verify-certificate")
    assert on.exit_code == 0 and on.stderr == ""
    assert "tls verification  on" in esx("connection", "show", "contoso").stdout


def test_switching_to_app_sign_in_needs_the_client_secret(
    esx: Run, config_sqlite_url: str
) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)
    to_app = ("connection", "set", "contoso", "--auth", "app", "--tenant-id", "tenant-1",
              "--client-id", "client-1")

    with_password = esx(*to_app, "--password-stdin", input="app-secret")
    assert with_password.exit_code == 2
    assert "use --client-secret-stdin" in with_password.stderr
    no_secret = esx(*to_app, input="")  # the hidden prompt gets nothing
    assert no_secret.exit_code != 0
    assert "Client secret" in no_secret.output
    assert "user svc-esx@contoso.com" in esx("connection", "show", "contoso").stdout

    switched = esx(*to_app, "--client-secret-stdin", input="app-secret\n")
    assert switched.exit_code == 0, switched.output
    assert "app-secret" not in switched.output
    assert "secret   replaced" in switched.stdout
    assert "app client-1 (tenant tenant-1)" in esx("connection", "show", "contoso").stdout
    engine = open_engine(config_sqlite_url)
    assert config.connection_secret(engine, "contoso") == "app-secret"
    engine.dispose()


def test_set_without_a_change_lists_the_options(esx: Run) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)

    result = esx("connection", "set", "contoso")

    assert result.exit_code == 2
    for flag in ("--ews-url URL", "--autodiscover EMAIL", "--auth user|app", "--upn UPN",
                 "--ca-bundle FILE", "--no-ca-bundle", "--verify-certificate"):
        assert flag in result.stderr
    assert "esexchange connection secret contoso" in result.stderr


def test_set_on_an_unknown_connection_lists_the_known(esx: Run) -> None:
    esx(*ADD_CONTOSO, input=PASSWORD)

    result = esx("connection", "set", "fabrikam", "--ews-url", NEW_URL)

    assert result.exit_code == 2
    assert "no connection named 'fabrikam'; known connections: contoso" in result.stderr


def test_a_graph_connection_takes_the_graph_root_of_its_cloud(esx: Run) -> None:
    """Microsoft's by default; the national cloud of its token URL; or --graph-url."""
    added = esx("connection", "add", "online", "--backend", "graph", "--tenant-id", "t-1",
                "--client-id", "c-1", "--client-secret-stdin", input="secret")
    assert added.exit_code == 0, added.output
    assert "Microsoft Graph at https://graph.microsoft.com/v1.0" in esx(
        "connection", "show", "online").stdout

    us = ("--token-url", "https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token")
    assert esx("connection", "set", "online", *us).exit_code == 0
    assert "Microsoft Graph at https://graph.microsoft.us/v1.0" in esx(
        "connection", "show", "online").stdout

    moved = esx("connection", "set", "online", "--graph-url", "https://dod-graph.microsoft.us")
    assert moved.exit_code == 0, moved.output
    assert "Microsoft Graph at https://dod-graph.microsoft.us/v1.0" in esx(
        "connection", "show", "online").stdout


def test_a_graph_url_is_refused_where_it_would_be_ignored_or_is_no_url(esx: Run) -> None:
    on_ews = esx(*ADD_CONTOSO, "--graph-url", "https://graph.microsoft.us", input=PASSWORD)
    assert on_ews.exit_code == 2
    assert "--graph-url is not used with --backend ews" in on_ews.stderr
    no_url = esx("connection", "add", "online", "--backend", "graph", "--tenant-id", "t-1",
                 "--client-id", "c-1", "--client-secret-stdin", "--graph-url", "graph.local",
                 input="secret")
    assert no_url.exit_code == 2
    assert "--graph-url 'graph.local' is not an http(s) URL" in no_url.stderr
