"""The README and the docs point only at files that exist, and say how to run the command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_file_a_document_names_exists(document: Path) -> None:
    text = document.read_text()
    linked = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
    named = re.findall(r"\b([\w./-]+\.md)\b", text)
    for target in linked:
        assert (document.parent / target).exists(), f"{document.name} links to {target}"
    for name in named:  # a file named in passing, such as "see NOTE.md there"
        found = (document.parent / name).exists() or (ROOT / name).exists() \
            or any((ROOT / "src").rglob(Path(name).name))
        assert found, f"{document.name} names {name}, which is not in the repository"


def test_the_readme_points_to_the_design_and_says_how_to_run_the_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/design.md" in readme
    assert ".venv/bin/esexchange" in readme and "source .venv/bin/activate" in readme
