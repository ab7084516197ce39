"""`esexchange sandbox ...`: the built-in Exchange emulators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from esexchange.cli.common import fail, out, reports_errors

app = typer.Typer(no_args_is_help=True, help="Local Exchange emulators for demos and tests.")


@app.command()
@reports_errors
def ews(
    directory: Annotated[
        Path,
        typer.Option(
            "--directory",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="TOML file of the mailboxes, accounts and app registrations.",
        ),
    ],
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8443,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    state: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            dir_okay=False,
            help="SQLite file that keeps the mailboxes across restarts.",
        ),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            help="Serve HTTPS with a certificate of a CA the sandbox generates "
            "(written next to the state file, or the directory file)."
        ),
    ] = False,
    knobs: Annotated[
        str,
        typer.Option(
            metavar="NAME=VALUE,...",
            help="Realism knobs, e.g. latency_ms=20,server_busy_rate=0.05,seed=3.",
        ),
    ] = "",
) -> None:
    """Serve Exchange Web Services (SOAP 1.1), Autodiscover and an OAuth 2.0 token endpoint."""
    # Imported here: nothing of the sandbox loads for other commands.
    from esexchange.sandbox.directory import DirectoryError, load_directory
    from esexchange.sandbox.ews.app import create_sandbox
    from esexchange.sandbox.ews.knobs import Knobs
    from esexchange.sandbox.ews.server import listening_socket, serve_forever
    from esexchange.sandbox.oauth import SIGNING_KEY_FILE, TokenIssuer
    from esexchange.sandbox.tls import ensure_tls_files

    try:
        injected = Knobs.from_string(knobs)
    except ValueError as error:
        raise fail(f"--knobs: {error}") from None
    home = (state or directory).resolve().parent
    issuer = TokenIssuer.load_or_create(home / SIGNING_KEY_FILE) if state else None
    try:
        loaded = load_directory(directory)
    except DirectoryError as error:
        raise fail(str(error)) from None
    sandbox = create_sandbox(loaded, state_file=state, knobs=injected, issuer=issuer)
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error.strerror}") from None
    certfile = keyfile = None
    scheme = "http"
    if tls:
        files = ensure_tls_files(home)
        certfile, keyfile, scheme = str(files.certfile), str(files.keyfile), "https"
    bound = sock.getsockname()[1]
    console = out()
    console.print(f"EWS sandbox: {scheme}://{host}:{bound}/EWS/Exchange.asmx", soft_wrap=True)
    if tls:
        console.print(f"trust this CA to connect: {files.ca_file}", soft_wrap=True)
    console.print("state: " + (str(state) if state else "in memory (lost on exit)"))
    serve_forever(sandbox.app, sock, certfile=certfile, keyfile=keyfile)


@app.command()
@reports_errors
def graph(
    directory: Annotated[
        Path,
        typer.Option(
            "--directory",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="TOML file of the mailboxes and app registrations (as for `sandbox ews`).",
        ),
    ],
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8444,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    state: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            dir_okay=False,
            help="JSON file that keeps the mailboxes and delta tokens across restarts.",
        ),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            help="Serve HTTPS with a certificate of a CA the sandbox generates "
            "(written next to the state file, or the directory file)."
        ),
    ] = False,
    knobs: Annotated[
        str,
        typer.Option(
            metavar="NAME=VALUE,...",
            help="Realism knobs, e.g. latency_ms=20,throttle_rate=0.05,retry_after_s=2,seed=3.",
        ),
    ] = "",
    notification_trust: Annotated[
        Path | None,
        typer.Option(
            metavar="CA.pem", exists=True, dir_okay=False,
            help="Also trust this CA for the HTTPS notification URLs of subscriptions "
            "(e.g. the ca.pem --tls writes, for a local endpoint).",
        ),
    ] = None,
) -> None:
    """Serve Microsoft Graph (calendar, To Do, categories, $batch, change notifications)
    and an OAuth 2.0 authority."""
    from esexchange.sandbox.directory import load_directory
    from esexchange.sandbox.ews.server import listening_socket, serve_forever
    from esexchange.sandbox.graph.app import create_graph_sandbox
    from esexchange.sandbox.graph.knobs import GraphKnobs
    from esexchange.sandbox.oauth import SIGNING_KEY_FILE, TokenIssuer
    from esexchange.sandbox.tls import ensure_tls_files

    try:
        injected = GraphKnobs.from_string(knobs)
    except ValueError as error:
        raise fail(f"--knobs: {error}") from None
    home = (state or directory).resolve().parent
    issuer = TokenIssuer.load_or_create(home / SIGNING_KEY_FILE) if state else None
    sandbox = create_graph_sandbox(
        load_directory(directory), state_file=state, knobs=injected, issuer=issuer,
        notification_trust=notification_trust,
    )
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error.strerror}") from None
    certfile = keyfile = None
    scheme = "http"
    if tls:
        files = ensure_tls_files(home)
        certfile, keyfile, scheme = str(files.certfile), str(files.keyfile), "https"
    bound = sock.getsockname()[1]
    console = out()
    console.print(f"Graph sandbox: {scheme}://{host}:{bound}/v1.0", soft_wrap=True)
    console.print(f"authority: {scheme}://{host}:{bound}/{{tenant id}}", soft_wrap=True)
    if tls:
        console.print(f"trust this CA to connect: {files.ca_file}", soft_wrap=True)
    console.print("state: " + (str(state) if state else "in memory (lost on exit)"))
    serve_forever(sandbox, sock, certfile=certfile, keyfile=keyfile)
