"""Fuzz: malformed command lines never end in a traceback (issue 10).

Random arguments for the configuration commands (names, emails, keys and values that
are empty, negative, huge, unicode, option-shaped): every run ends with exit code 0, 1
or 2, and an error is one line on stderr. Commands that start servers or reach Exchange
(``demo``, ``sandbox``, ``sync``, ``check``, ``token``) are left out: their input is
the same connection data, checked here.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Run

WORDS = st.one_of(
    st.sampled_from([
        "", " ", "-5", "-1", "0", "101", "99999999999999999999", "on", "off", "maybe",
        "default", "contoso", "northwind", "anna.berg@example.com", "ANNA.BERG@EXAMPLE.COM",
        "nobody@example.com", "@", "interval_minutes", "delete_guard_percent",
        "erp_time_zone", "Mars/Olympus", "Europe/Berlin", "start_sync_at",
        "2026-13-45T99:00", "priority_high", "conflict_policy", "newer_wins",
        "appointments", "no_private_tasks", "light green", "--help", "--db", "-x",
        "https://", "not a url", "ftp://mail.example.com/EWS", "\x00", "é🙂", "x" * 2000,
    ]),
    st.text(max_size=30),
)
COMMANDS = st.sampled_from([
    ("connection", "add"), ("connection", "set"), ("connection", "show"),
    ("connection", "list"), ("connection", "remove"), ("connection", "secret"),
    ("options", "list"), ("options", "set"),
    ("personnel", "add"), ("personnel", "set"), ("personnel", "remove"),
    ("personnel", "list"), ("activity-type", "color"), ("activity-type", "list"),
    ("priority", "map"), ("priority", "list"), ("db", "status"), ("db", "restore"),
    ("db", "prune"), ("status",),
])
FLAGS = st.sampled_from([
    "--ews-url", "--autodiscover", "--upn", "--auth", "--backend", "--password-stdin",
    "--client-secret-stdin", "--tenant-id", "--client-id", "--ca-bundle", "--low",
    "--normal", "--high", "--connection", "--erp-time-zone", "--token-url",
])
arguments = st.lists(st.one_of(WORDS, FLAGS), max_size=6)

TRIED: list[int] = []


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(command=COMMANDS, args=arguments, secret=st.sampled_from(["pw\n", "", "\n", "é"]))
def test_no_command_line_ends_in_a_traceback(
    esx: Run, contoso: str, command: tuple[str, ...], args: list[str], secret: str
) -> None:
    result = esx(*command, *args, input=secret)

    TRIED.append(1)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        command, args, result.exc_info)
    assert result.exit_code in (0, 1, 2), (command, args, result.output)
    if result.exit_code == 2 and result.stderr.startswith("error:"):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
