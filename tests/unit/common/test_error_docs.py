"""The README's list of error codes is the catalogue: a code added to one is added to both."""

from __future__ import annotations

import re
from pathlib import Path

from reelhouse.common.errors import CATALOGUE

README = Path(__file__).resolve().parents[3] / "README.md"
START = "Error codes (public, stable):"
END = "the catalogue with statuses"


def test_the_readme_lists_every_catalogued_code_and_no_other() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index(START)
    listed = set(re.findall(r"`([a-z_]+)`", text[start : text.index(END, start)]))

    assert set(CATALOGUE) - listed == set(), "codes missing from the README's list"
    assert listed - set(CATALOGUE) == set(), "the README lists codes the catalogue lacks"
