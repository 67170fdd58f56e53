"""``python -m tests.faults.report FILE``: the drills' JSON lines as a Markdown table.

``make drills`` writes the lines (``REELHOUSE_DRILL_REPORT``) and prints this table; the
README's fault table takes its measured columns from it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "-"


def table(lines: list[str]) -> str:
    rows = [
        "| fault | items | submit during | statuses during | new job ok after (s) "
        "| batch final after (s) | retried by client | problems |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for line in lines:
        if not line.strip():
            continue
        d = json.loads(line)
        rows.append(
            f"| {d['fault']} | {d['items']} | {d['submit_during']} | {_counts(d['during'])} "
            f"| {d['recovered_s']} | {d['drained_s']} | {', '.join(d.get('retried', [])) or '-'} "
            f"| {len(d['problems'])} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.faults.report DRILLS.jsonl", file=sys.stderr)
        return 2
    path = Path(argv[1])
    if not path.exists():
        print(f"{path}: no drill has reported yet", file=sys.stderr)
        return 1
    print(table(path.read_text().splitlines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
