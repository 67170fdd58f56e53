"""The README's configuration reference is the settings models, rendered: it cannot drift."""

from __future__ import annotations

from pathlib import Path

from tests.support.config_reference import END, START, render_table, rewrite, undescribed

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_configuration_reference_matches_the_settings_models() -> None:
    text = README.read_text()
    assert rewrite(text) == text, "README.md's configuration reference is stale: run `make docs`"


def test_every_setting_says_what_it_is_for() -> None:
    assert undescribed() == [], "give these fields a Field(description=...)"


def test_one_variable_read_by_several_services_is_one_row_naming_them() -> None:
    rows = [line for line in render_table().splitlines() if line.startswith("| `REELHOUSE_")]
    names = [row.split("`")[1] for row in rows]
    assert len(names) == len(set(names))
    port = next(row for row in rows if row.startswith("| `REELHOUSE_HTTP__PORT` |"))
    assert "gateway `8000`" in port
    assert "media `8001`" in port
    assert "dispatcher `8002`" in port
    assert "sandbox `8010`" in port


def test_the_embedded_launchers_ports_are_all_listed() -> None:
    table = render_table()
    for port in ("NATS", "GATEWAY", "MEDIA", "DISPATCHER", "SANDBOX", "SANDBOX_FAL"):
        assert f"`REELHOUSE_EMBEDDED__{port}_PORT`" in table


def test_rewriting_keeps_the_prose_around_the_table() -> None:
    text = f"# title\n\nprose before\n\n{START}\nold table\n{END}\n\nprose after\n"
    rewritten = rewrite(text)
    assert rewritten.startswith("# title\n\nprose before\n\n" + START)
    assert rewritten.endswith(END + "\n\nprose after\n")
    assert "old table" not in rewritten
