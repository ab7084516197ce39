"""How many rows of each EWS requirement checklist the sandbox's tests and sources name.

A sandbox test that proves a row of a checklist (``../shared/ews-requirements/*.tsv``,
one requirement id per row) names its id, ``MS-OXWSFOLD_R306``; this counts, per
checklist, the rows whose id appears in ``tests/sandbox`` or ``src/esexchange/sandbox``
(the numbers in docs/sandbox-ews.md). ``--left`` also lists the rows not named yet,
with their section and text, to sort them into "to do" and "out of scope".

    python tools/requirement_counts.py [--checklists DIR] [--left]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEARCHED = (REPO / "tests" / "sandbox", REPO / "src" / "esexchange" / "sandbox")
DEFAULT_CHECKLISTS = REPO.parent.parent / "shared" / "ews-requirements"
REQUIREMENT_ID = re.compile(r"MS-OX[A-Z]+_R\d+")


def named_ids(roots: tuple[Path, ...] = SEARCHED) -> set[str]:
    """Every requirement id written in a Python file below ``roots``."""
    found: set[str] = set()
    for root in roots:
        for path in root.rglob("*.py"):
            found.update(REQUIREMENT_ID.findall(path.read_text(encoding="utf-8")))
    return found


def checklist_rows(path: Path) -> list[tuple[str, str, str]]:
    """(id, section, text) of each row of one checklist file."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader, None)  # the header
        return [(row[0], row[1], row[2]) for row in reader if len(row) >= 3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checklists", type=Path, default=DEFAULT_CHECKLISTS)
    parser.add_argument("--left", action="store_true", help="list the rows not named yet")
    args = parser.parse_args(argv)
    files = sorted(args.checklists.glob("MS-OXWS*.tsv"))
    if not files:
        print(f"no checklists (MS-OXWS*.tsv) in {args.checklists}", file=sys.stderr)
        return 2
    named = named_ids()
    for path in files:
        rows = checklist_rows(path)
        ids = {row[0] for row in rows}
        print(f"{path.stem}: {len(ids & named)} of {len(ids)} rows named")
        if args.left:
            for req_id, section, text in rows:
                if req_id not in named:
                    print(f"  {req_id}\t{section}\t{text[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
