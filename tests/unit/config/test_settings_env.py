"""The resolver that tells a real setting from a typo pydantic-settings would silently ignore."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings

from reelhouse.common.settings import settings_config
from tests.support.settings_env import ROLE_SETTINGS, accepts, settings_class, variables


class Part(BaseModel):
    url: str = "a"
    json_output: str = Field(default="a", alias="json")
    model_config = {"populate_by_name": True}


class Deep(BaseModel):
    part: Part = Part()


class Sample(BaseSettings):
    model_config = settings_config()

    part: Part = Part()
    deep: Deep = Deep()
    keys: dict[str, str] = Field(default_factory=dict)
    parts: dict[str, Part] = Field(default_factory=dict)
    maybe: Part | None = None
    name: str = "a"


ACCEPTED = [
    "REELHOUSE_NAME",
    "reelhouse_name",  # names are case-insensitive
    "REELHOUSE_PART__URL",
    "REELHOUSE_PART__JSON",  # by alias
    "REELHOUSE_PART__JSON_OUTPUT",  # by name: populate_by_name
    "REELHOUSE_PART",  # a whole part, as JSON
    "REELHOUSE_DEEP__PART__URL",
    "REELHOUSE_KEYS",
    "REELHOUSE_KEYS__K2",  # a dict takes any key
    "REELHOUSE_PARTS__ANY__URL",  # into a dict entry's own model
    "REELHOUSE_MAYBE__URL",  # an optional part
]
REJECTED = [
    "REELHOUSE_NAEM",
    "REELHOUSE_PART__ULR",
    "REELHOUSE_PART_URL",  # one underscore is not nesting
    "REELHOUSE_PART___URL",
    "REELHOUSE_NAME__MORE",  # a plain value has no parts
    "REELHOUSE_KEYS__K2__MORE",  # a str entry has no parts
    "REELHOUSE_PARTS__ANY__ULR",
    "REELHOUSE_",
    "NAME",
    "OTHER_NAME",
]


@pytest.mark.parametrize("variable", ACCEPTED)
def test_a_variable_that_reaches_a_field_is_accepted(variable: str) -> None:
    assert accepts(Sample, variable)


@pytest.mark.parametrize("variable", REJECTED)
def test_a_misspelt_or_misnested_variable_is_refused(variable: str) -> None:
    assert not accepts(Sample, variable)


@pytest.mark.parametrize(
    ("variable", "value", "path"),
    [
        ("REELHOUSE_NAME", "set", ("name",)),
        ("reelhouse_part__url", "set", ("part", "url")),
        ("REELHOUSE_PART__JSON", "set", ("part", "json_output")),
        ("REELHOUSE_DEEP__PART__URL", "set", ("deep", "part", "url")),
        ("REELHOUSE_KEYS__K2", "set", ("keys", "k2")),
        ("REELHOUSE_MAYBE__URL", "set", ("maybe", "url")),
    ],
)
def test_what_the_resolver_accepts_pydantic_settings_really_reads(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, path: tuple[str, ...]
) -> None:
    monkeypatch.setenv(variable, value)
    reached: object = Sample()
    for step in path:
        reached = reached[step] if isinstance(reached, dict) else getattr(reached, step)
    assert reached == value


@pytest.mark.parametrize("variable", [v for v in REJECTED if v.upper().startswith("REELHOUSE_")])
def test_what_the_resolver_refuses_pydantic_settings_ignores_or_rejects(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "set")
    try:
        settings = Sample()
    except ValidationError:
        return  # loud at start-up: not the silent case, and still not a setting
    assert '"set"' not in settings.model_dump_json()  # the value reached no field


@pytest.mark.parametrize("role", list(ROLE_SETTINGS))
def test_every_listed_variable_of_every_role_is_accepted_by_that_role(role: str) -> None:
    settings = settings_class(role)
    listed = variables(settings)
    assert listed
    assert [v.name for v in listed if not accepts(settings, v.name)] == []


def test_a_setting_is_accepted_only_by_the_roles_that_read_it() -> None:
    assert accepts(settings_class("media"), "REELHOUSE_DELIVERY__MODE")
    assert not accepts(settings_class("gateway"), "REELHOUSE_DELIVERY__MODE")
    assert accepts(settings_class("downloader"), "REELHOUSE_STORAGE__S3__ENDPOINT")
    assert not accepts(settings_class("media"), "REELHOUSE_NATS__URL")


def test_variables_carry_each_services_own_default() -> None:
    ports = {
        role: next(v.default for v in variables(settings_class(role)) if v.name == name)
        for role, name in [
            ("gateway", "REELHOUSE_HTTP__PORT"),
            ("media", "REELHOUSE_HTTP__PORT"),
            ("dispatcher", "REELHOUSE_HTTP__PORT"),
            ("sandbox", "REELHOUSE_HTTP__PORT"),
        ]
    }
    assert ports == {"gateway": 8000, "media": 8001, "dispatcher": 8002, "sandbox": 8010}
