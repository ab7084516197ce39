"""Per-file mutation scores of the last ``mutmut run`` (``make mutate``).

The score is killed plus timed out over all mutants of the file (a mutant no selected
test reaches counts as surviving). ``--survivors`` also lists the surviving mutants by
name, for ``mutmut show NAME``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

CAUGHT = {"killed", "timeout"}


def scores(root: Path) -> list[tuple[str, int, int, list[str]]]:
    """(file, caught, total, survivors) per mutated file under ``root``."""
    rows = []
    for meta in sorted(root.rglob("*.py.meta")):
        results: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        checked = {k: v for k, v in results.items() if v is not None}
        if not checked:
            continue
        caught = sum(1 for v in checked.values() if status_by_exit_code[v] in CAUGHT)
        survivors = sorted(k for k, v in checked.items() if status_by_exit_code[v] not in CAUGHT)
        name = str(meta.relative_to(root)).removesuffix(".meta")
        rows.append((name, caught, len(checked), survivors))
    return rows


def main(argv: list[str]) -> int:
    rows = scores(Path("mutants"))
    if not rows:
        print("no mutation results: run `make mutate` first", file=sys.stderr)
        return 1
    print(f"{'file':<46} {'caught':>7} {'all':>5} {'score':>7}")
    for name, caught, total, survivors in rows:
        print(f"{name:<46} {caught:>7} {total:>5} {caught / total:>7.1%}")
        if "--survivors" in argv:
            for survivor in survivors:
                print(f"    {survivor}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
