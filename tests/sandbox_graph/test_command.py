"""``esexchange sandbox graph``: HTTPS with the shared generated CA, msal gets a token."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import msal

from esexchange.sandbox.directory import write_directory
from tests.sandbox_graph.conftest import ANNA, APP_ID, DIRECTORY, SECRET, TENANT


def test_the_command_serves_graph_over_https_to_msal_and_keeps_state(tmp_path: Path) -> None:
    directory = tmp_path / "directory.toml"
    write_directory(DIRECTORY, directory)
    state = tmp_path / "graph.json"
    command = [sys.executable, "-m", "esexchange", "sandbox", "graph", "--directory",
               str(directory), "--port", "0", "--state", str(state), "--tls"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = re.search(r"(https://127\.0\.0\.1:\d+)/v1\.0", process.stdout.readline())
        assert url, "no URL printed"
        origin = url.group(1)
        trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with httpx.Client(verify=trusted) as http:
            created = _create_with_msal(origin, http)
        assert created.status_code == 201
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert "over HTTPS" in state.read_text()


def _create_with_msal(origin: str, http: httpx.Client) -> httpx.Response:
    app = msal.ConfidentialClientApplication(
        APP_ID, client_credential=SECRET, authority=f"{origin}/{TENANT}",
        http_client=http, validate_authority=False,
    )  # fmt: skip
    token = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in token, token
    return http.post(
        f"{origin}/v1.0/users/{ANNA}/events",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        json={"subject": "over HTTPS",
              "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
              "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"}},
    )  # fmt: skip
