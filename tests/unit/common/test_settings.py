"""Bad settings are reported by the variable an operator sets, never by a field path."""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsError

from reelhouse.common.settings import (
    NatsSettings,
    StorageSettings,
    settings_config,
    settings_problems,
    variable_for,
)


class Limits(BaseModel):
    allowed: list[int] = Field(default_factory=list)


class Example(BaseSettings):
    model_config = settings_config()

    nats: NatsSettings = NatsSettings()
    storage: StorageSettings = StorageSettings()
    limits: Limits = Limits()
    token: SecretStr = SecretStr("")
    schemes: list[str] = Field(default_factory=list)


def problems_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises((ValidationError, SettingsError)) as caught:
        Example()
    assert isinstance(caught.value, ValidationError | SettingsError)
    return settings_problems(caught.value, os.environ)


def test_a_nested_value_names_its_double_underscore_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problems = problems_for(monkeypatch, REELHOUSE_NATS__MAX_DELIVER="0")
    [problem] = problems
    assert problem.startswith("REELHOUSE_NATS__MAX_DELIVER: ")
    assert "greater than or equal to 1" in problem


def test_a_bad_list_item_names_the_list_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    [problem] = problems_for(monkeypatch, REELHOUSE_LIMITS__ALLOWED='[1, "x"]')
    assert problem.startswith("REELHOUSE_LIMITS__ALLOWED: ")


def test_a_value_that_is_not_json_names_the_variable_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [problem] = problems_for(monkeypatch, REELHOUSE_SCHEMES="[http")
    assert problem.startswith("REELHOUSE_SCHEMES: not a valid JSON value")


def test_a_cross_field_check_keeps_its_own_message(monkeypatch: pytest.MonkeyPatch) -> None:
    [problem] = problems_for(monkeypatch, REELHOUSE_STORAGE__BACKEND="s3")
    assert problem.startswith("REELHOUSE_STORAGE: ")
    assert "REELHOUSE_STORAGE__S3__ACCESS_KEY must be set" in problem


def test_a_rejected_value_is_never_repeated_back(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_for(
        monkeypatch, REELHOUSE_NATS__CONNECT_TIMEOUT="hunter2", REELHOUSE_NATS__MAX_DELIVER="-1"
    )
    assert len(problems) == 2
    assert not any("hunter2" in problem for problem in problems)


def test_variable_names_follow_prefix_and_delimiter() -> None:
    assert variable_for(("storage", "s3", "endpoint")) == "REELHOUSE_STORAGE__S3__ENDPOINT"
    assert variable_for(("allowed_schemes", 0)) == "REELHOUSE_ALLOWED_SCHEMES"
