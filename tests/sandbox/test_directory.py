"""The directory file: the documented TOML form is read, and every mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from esexchange.sandbox.directory import (
    AccountEntry,
    AppEntry,
    Directory,
    DirectoryError,
    MailboxEntry,
    load_directory,
    write_directory,
)

EXAMPLE = """\
[[mailbox]]
email = "anna.berger@example.test"
name = "Anna Berger"
time_zone = "Europe/Berlin"

[[mailbox]]
email = "Ben.Kraus@Example.test"
name = "Ben Kraus"
time_zone = "America/New_York"

[[account]]                 # a user that signs in with UPN and password
upn = "svc-esx@example.test"
password = "s3cret"
impersonate = ["*"]

[[account]]
upn = "anna.berger@example.test"
password = "anna"
impersonate = ["ben.kraus@example.test"]

[[app]]
tenant_id = "11111111-2222-3333-4444-555555555555"
client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
client_secret = "app-secret"
mailboxes = ["*"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "directory.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_form_is_read(tmp_path: Path) -> None:
    directory = load_directory(write(tmp_path, EXAMPLE))

    assert directory.mailbox("ANNA.BERGER@example.test") == MailboxEntry(
        "anna.berger@example.test", "Anna Berger", "Europe/Berlin"
    )
    assert directory.mailbox("ben.kraus@example.test") is not None
    assert directory.mailbox("nobody@example.test") is None
    assert directory.account("SVC-ESX@example.test") == AccountEntry(
        "svc-esx@example.test", "s3cret", ("*",)
    )
    assert directory.app("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE") == AppEntry(
        "11111111-2222-3333-4444-555555555555",
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "app-secret",
        ("*",),
    )


def test_impersonation_grants_are_a_wildcard_or_a_list(tmp_path: Path) -> None:
    directory = load_directory(write(tmp_path, EXAMPLE))
    service, anna = directory.accounts

    assert service.may_impersonate("anna.berger@example.test")
    assert anna.may_impersonate("BEN.KRAUS@EXAMPLE.TEST")
    assert not anna.may_impersonate("anna.berger@example.test")


def test_written_directory_reads_back_equal(tmp_path: Path) -> None:
    directory = Directory(
        mailboxes=(MailboxEntry("zoë@example.test", 'Zoë "Z" Ölund', "Europe/Vienna"),),
        accounts=(AccountEntry("svc@example.test", 'pa"ss\\wörd\n', ("zoë@example.test",)),),
        apps=(AppEntry("t", "c", "s", ("*",)),),
    )
    path = tmp_path / "out.toml"

    write_directory(directory, path)

    assert load_directory(path) == directory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[mailbox]]\nemail = "a@example.test"\nname = "A"\n',
            r"\[\[mailbox\]\] #1.*'time_zone' is missing",
        ),
        (
            '[[mailbox]]\nemail = "a@example.test"\nname = "A"\ntime_zone = "Mars/Olympus"\n',
            r"\[\[mailbox\]\] #1 \(a@example.test\): field 'time_zone' is 'Mars/Olympus'",
        ),
        (
            '[[mailbox]]\nemail = "not-an-address"\nname = "A"\ntime_zone = "UTC"\n',
            r"field 'email' is 'not-an-address', not an address",
        ),
        (
            '[[mailbox]]\nemail = "a@example.test"\nname = ""\ntime_zone = "UTC"\n',
            r"field 'name' must be a non-empty string",
        ),
        (
            '[[mailbox]]\nemail = "a@example.test"\nname = "A"\ntime_zone = "UTC"\nphone = "1"\n',
            r"unknown field 'phone'",
        ),
        (
            '[[mailbox]]\nemail = "a@example.test"\nname = "A"\ntime_zone = "UTC"\n'
            '[[mailbox]]\nemail = "A@Example.test"\nname = "B"\ntime_zone = "UTC"\n',
            r"\[\[mailbox\]\] #2: field 'email' 'A@Example.test' repeats \[\[mailbox\]\] #1",
        ),
        (
            '[[account]]\nupn = "s@example.test"\npassword = "p"\nimpersonate = "*"\n',
            r"\[\[account\]\] #1: field 'impersonate' must be a list",
        ),
        (
            '[[account]]\nupn = "s@example.test"\npassword = "p"\n'
            'impersonate = ["x@example.test"]\n',
            r"\[\[account\]\] #1: field 'impersonate' names 'x@example.test', which is no",
        ),
        (
            '[[app]]\ntenant_id = "t"\nclient_id = "c"\nclient_secret = "s"\nmailboxes = ["*"]\n'
            '[[app]]\ntenant_id = "t"\nclient_id = "C"\nclient_secret = "s"\nmailboxes = ["*"]\n',
            r"\[\[app\]\] #2: field 'client_id' 'C' repeats \[\[app\]\] #1",
        ),
        (
            '[[app]]\ntenant_id = "t"\nclient_id = "c"\nmailboxes = ["*"]\n',
            r"'client_secret' is missing",
        ),
        ('[mailbox]\nemail = "a@example.test"\n', r"'mailbox' must be an array of tables"),
        ('[[user]]\nname = "x"\n', r"unknown table 'user'"),
        ("[[mailbox]\n", r"not valid TOML"),
    ],
)
def test_mistakes_name_file_entry_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(DirectoryError, match=expected) as caught:
        load_directory(path)

    assert str(caught.value).startswith(str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="directory file not found"):
        load_directory(tmp_path / "absent.toml")
