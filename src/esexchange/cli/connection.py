"""`esexchange connection ...`: add, change, list, show and remove connections to Exchange.

Secrets are read from stdin (``--password-stdin``, ``--client-secret-stdin``) or a
hidden prompt, stored encrypted, and never printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from esexchange import config
from esexchange.cli.common import (
    ConnectionName,
    DbOption,
    database,
    fail,
    out,
    reports_errors,
    warn,
)
from esexchange.config import Auth, Backend, ConnectionChange, ConnectionConfig
from esexchange.config.model import validate_connection
from esexchange.domain.options import ConnectionOptions
from esexchange.exchange.graph.settings import graph_root_for

app = typer.Typer(no_args_is_help=True, help="Connections to Exchange organisations.")

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin.")
]
ClientSecretStdin = Annotated[
    bool, typer.Option("--client-secret-stdin", help="Read the client secret from stdin.")
]


GraphUrl = Annotated[
    str | None, typer.Option(
        metavar="URL", help="Microsoft Graph's root for a Graph connection (default "
        "https://graph.microsoft.com, or the national cloud of --token-url; the sandbox's "
        "address).")
]


@app.command("add")
@reports_errors
def add(
    name: Annotated[str, typer.Argument(help="A name for the connection, e.g. contoso.")],
    auth: Annotated[
        Auth | None,
        typer.Option(help="user: UPN and password; app: OAuth 2.0 app (graph: always app)."),
    ] = None,
    db: DbOption = None,
    backend: Annotated[Backend, typer.Option(help="ews (Exchange 2016/2019/SE) or graph.")] = (
        Backend.EWS
    ),
    ews_url: Annotated[str | None, typer.Option(help="The EWS URL, typed in.")] = None,
    autodiscover: Annotated[
        str | None, typer.Option(metavar="EMAIL", help="Find the EWS URL by Autodiscover.")
    ] = None,
    autodiscover_url: Annotated[
        str | None, typer.Option(
            metavar="URL", help="The Autodiscover service to ask when it is not at the "
            "address's domain (with --autodiscover).")
    ] = None,
    upn: Annotated[str | None, typer.Option(help="Service account, user@domain.")] = None,
    password_stdin: PasswordStdin = False,
    tenant_id: Annotated[str | None, typer.Option(help="Entra ID tenant id.")] = None,
    client_id: Annotated[str | None, typer.Option(help="App registration client id.")] = None,
    client_secret_stdin: ClientSecretStdin = False,
    token_url: Annotated[str | None, typer.Option(help="OAuth token endpoint override.")] = None,
    graph_url: GraphUrl = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="PEM file of CA certificates to trust.")
    ] = None,
    accept_untrusted_certificate: Annotated[
        bool, typer.Option("--accept-untrusted-certificate",
                           help="Do not verify the server's TLS certificate (unsafe).")
    ] = False,
    erp_time_zone: Annotated[
        str | None, typer.Option(metavar="ZONE", help="IANA zone of the ERP's times.")
    ] = None,
) -> None:
    """Add a connection; the secret comes from stdin or a hidden prompt."""
    if auth is None:
        if backend is not Backend.GRAPH:
            raise fail("--auth user|app is needed for an EWS connection")
        auth = Auth.APP  # Microsoft Graph signs in as an app registration only
    _check_stdin_flag(f"--auth {auth.value}", auth, password_stdin, client_secret_stdin)
    connection = ConnectionConfig(
        name=name,
        backend=backend,
        auth=auth,
        ews_url=ews_url,
        autodiscover_email=autodiscover,
        autodiscover_url=autodiscover_url,
        upn=upn,
        tenant_id=tenant_id,
        client_id=client_id,
        token_url=token_url,
        graph_url=graph_url,
        ca_bundle=str(ca_bundle.resolve()) if ca_bundle else None,
        accept_untrusted=accept_untrusted_certificate,
        options=ConnectionOptions(erp_time_zone=erp_time_zone),
    )
    validate_connection(connection)  # before asking for a secret that would be wasted
    with database(db) as engine:
        secret = read_secret(auth, from_stdin=password_stdin or client_secret_stdin, upn=upn)
        config.add_connection(engine, connection, secret)
    if accept_untrusted_certificate:
        _warn_unverified(name)
    out().print(f"Added connection {name} ({backend.value}, {auth.value} sign-in).")


_SET_FLAGS = (
    "--ews-url URL, --autodiscover EMAIL [--autodiscover-url URL], --auth user|app, "
    "--upn UPN, --tenant-id T, --client-id C, --token-url URL, --graph-url URL, "
    "--ca-bundle FILE, "
    "--no-ca-bundle, --accept-untrusted-certificate, --verify-certificate"
)


@app.command("set")
@reports_errors
def set_(
    name: ConnectionName,
    db: DbOption = None,
    ews_url: Annotated[
        str | None, typer.Option(metavar="URL", help="Type the EWS URL in (drops Autodiscover).")
    ] = None,
    autodiscover: Annotated[
        str | None, typer.Option(
            metavar="EMAIL", help="Find the EWS URL by Autodiscover for this address (drops "
            "the stored EWS URL: the next pass or check finds it).")
    ] = None,
    autodiscover_url: Annotated[
        str | None, typer.Option(
            metavar="URL", help="The Autodiscover service to ask when it is not at the "
            "address's domain.")
    ] = None,
    auth: Annotated[
        Auth | None, typer.Option(help="Switch the sign-in (needs the new secret).")
    ] = None,
    upn: Annotated[
        str | None, typer.Option(help="Another service account, user@domain (needs its "
                                 "password).")
    ] = None,
    password_stdin: PasswordStdin = False,
    tenant_id: Annotated[str | None, typer.Option(help="Entra ID tenant id.")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Another app registration's client id (needs its "
                                 "secret).")
    ] = None,
    client_secret_stdin: ClientSecretStdin = False,
    token_url: Annotated[str | None, typer.Option(help="OAuth token endpoint override.")] = None,
    graph_url: GraphUrl = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="PEM file of CA certificates to trust.")
    ] = None,
    no_ca_bundle: Annotated[
        bool, typer.Option("--no-ca-bundle", help="Trust the system's CA certificates again.")
    ] = False,
    accept_untrusted_certificate: Annotated[
        bool | None, typer.Option(
            "--accept-untrusted-certificate/--verify-certificate", show_default=False,
            help="Stop (unsafe) or start again verifying the server's TLS certificate.")
    ] = None,
) -> None:
    """Change a connection's server, sign-in or TLS trust; only the options given change.

    Personnel, links and sync states are kept: another URL or service account of the
    same Exchange organisation reaches the same mailboxes and items. A different
    organisation needs a new connection (`connection add`). Options are changed with
    `esexchange options set`, the secret alone with `esexchange connection secret`.
    """
    change = ConnectionChange(
        ews_url=ews_url,
        autodiscover_email=autodiscover,
        autodiscover_url=autodiscover_url,
        auth=auth,
        upn=upn,
        tenant_id=tenant_id,
        client_id=client_id,
        token_url=token_url,
        graph_url=graph_url,
        ca_bundle=str(ca_bundle.resolve()) if ca_bundle else None,
        drop_ca_bundle=no_ca_bundle,
        accept_untrusted=accept_untrusted_certificate,
    )
    if change.is_empty():
        raise fail(
            f"nothing to change for connection {name}: give one or more of {_SET_FLAGS} "
            f"(the secret alone is replaced with `esexchange connection secret {name}`)"
        )
    from_stdin = password_stdin or client_secret_stdin
    with database(db) as engine:
        before = config.get_connection(engine, name)
        after = change.applied_to(before)
        validate_connection(after)  # before asking for a secret that would be wasted
        _check_stdin_flag(f"connection {name}", after.auth, password_stdin,
                          client_secret_stdin)
        secret = None
        if from_stdin or config.needs_new_secret(before, after):
            secret = read_secret(after.auth, from_stdin=from_stdin, upn=after.upn)
        after = config.update_connection(engine, name, change, secret=secret)
    if change.accept_untrusted:
        _warn_unverified(name)
    elif after.accept_untrusted and change.ca_bundle:
        warn(f"connection {name!r} still accepts untrusted certificates, so the CA bundle is "
             "not used; add --verify-certificate")
    _print_changes(before, after, secret_replaced=secret is not None)


def _print_changes(
    before: ConnectionConfig, after: ConnectionConfig, *, secret_replaced: bool
) -> None:
    """The lines of ``show`` that differ, new value first (the secret only as replaced)."""
    was, now = dict(_details(before)), dict(_details(after))
    changed = [(label, value, was.get(label, "")) for label, value in now.items()
               if was.get(label) != value]
    if secret_replaced:
        changed.append(("secret", "replaced", ""))
    if not changed:
        out().print(f"Connection {after.name} has these settings already; nothing changed.")
        return
    out().print(f"Changed connection {after.name} (personnel, links and sync states kept):")
    table = Table.grid(padding=(0, 2))
    for label, new, old in changed:
        table.add_row(f"  {label}", new, f"(was {old})" if old else "")
    out().print(table)


@app.command("secret")
@reports_errors
def secret(
    name: ConnectionName,
    db: DbOption = None,
    password_stdin: PasswordStdin = False,
    client_secret_stdin: ClientSecretStdin = False,
) -> None:
    """Replace the stored password or client secret of a connection."""
    with database(db) as engine:
        current = config.get_connection(engine, name)
        _check_stdin_flag(f"connection {name}", current.auth, password_stdin,
                          client_secret_stdin)
        from_stdin = password_stdin or client_secret_stdin
        config.set_connection_secret(
            engine, name, read_secret(current.auth, from_stdin=from_stdin, upn=current.upn)
        )
    out().print(f"Stored a new secret for connection {name}.")


@app.command("list")
@reports_errors
def list_(db: DbOption = None) -> None:
    """List the connections."""
    with database(db) as engine:
        connections = config.list_connections(engine)
    if not connections:
        out().print("No connections yet; add one with `esexchange connection add`.")
        return
    table = Table("Name", "Backend", "Server", "Sign-in", "Created (UTC)")
    for c in connections:
        created = c.created_at.strftime("%Y-%m-%d %H:%M") if c.created_at else ""
        table.add_row(c.name, c.backend.value, _server(c), _sign_in(c), created)
    out().print(table)


@app.command("show")
@reports_errors
def show(name: ConnectionName, db: DbOption = None) -> None:
    """Show one connection (the secret is never shown, only whether one is stored)."""
    with database(db) as engine:
        c = config.get_connection(engine, name)
    table = Table.grid(padding=(0, 2))
    for label, value in [("name", c.name), *_details(c)]:
        table.add_row(label, value)
    out().print(table)


def _details(c: ConnectionConfig) -> list[tuple[str, str]]:
    """What ``show`` lists after the name, label and value."""
    return [
        ("backend", c.backend.value),
        ("server", _server(c)),
        *([("autodiscover", _autodiscover(c))] if c.autodiscover_email else []),
        ("sign-in", _sign_in(c)),
        ("token url", c.token_url or "Microsoft's (login.microsoftonline.com)"),
        ("secret", "stored, encrypted" if c.secret_stored else "none"),
        ("ca bundle", c.ca_bundle or "system certificates"),
        ("tls verification", "OFF (untrusted certificates accepted)"
         if c.accept_untrusted else "on"),
        ("erp time zone", c.options.erp_time_zone or "the host's zone"),
        *([("change notifications", c.options.graph_notification_url
            or "off (a delta poll every few seconds)")] if c.backend is Backend.GRAPH else []),
        ("created (UTC)", c.created_at.isoformat(timespec="seconds") if c.created_at else ""),
    ]


@app.command("remove")
@reports_errors
def remove(name: ConnectionName, db: DbOption = None) -> None:
    """Remove a connection with its personnel and links (the history stays)."""
    with database(db) as engine:
        config.remove_connection(engine, name)
    out().print(f"Removed connection {name}.")


def _check_stdin_flag(
    who: str, auth: Auth, password_stdin: bool, client_secret_stdin: bool
) -> None:
    """The stdin flag must match the sign-in: a password for users, a secret for apps."""
    if auth is Auth.USER and client_secret_stdin:
        raise fail(f"{who} signs in with a password: use --password-stdin")
    if auth is Auth.APP and password_stdin:
        raise fail(f"{who} signs in with a client secret: use --client-secret-stdin")


def read_secret(auth: Auth, *, from_stdin: bool, upn: str | None) -> str:
    """The password or client secret, from stdin (one trailing newline dropped) or a
    hidden prompt asked twice."""
    what = f"Password for {upn}" if auth is Auth.USER else "Client secret"
    if from_stdin:
        text = sys.stdin.read()
        return text.removesuffix("\n").removesuffix("\r")
    value: str = typer.prompt(what, hide_input=True, confirmation_prompt=True)
    return value


def _warn_unverified(name: str) -> None:
    warn(
        f"connection {name!r} does NOT verify the server's TLS certificate: anyone on the "
        "network path can read the credentials; prefer --ca-bundle FILE"
    )


def _server(c: ConnectionConfig) -> str:
    if c.backend is Backend.GRAPH:
        return f"Microsoft Graph at {graph_root_for(c.token_url, c.graph_url)}"
    if c.ews_url:
        return c.ews_url
    return f"Autodiscover for {c.autodiscover_email}"


def _autodiscover(c: ConnectionConfig) -> str:
    service = c.autodiscover_url or "the address's domain"
    found = "found and stored" if c.ews_url else "runs on the first pass or check"
    return f"{c.autodiscover_email} at {service} ({found})"


def _sign_in(c: ConnectionConfig) -> str:
    if c.auth is Auth.USER:
        return f"user {c.upn}"
    return f"app {c.client_id} (tenant {c.tenant_id})"
