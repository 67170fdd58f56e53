"""The ``REELHOUSE_*`` surface of each service: which variables its settings accept, and all of them.

pydantic-settings ignores an environment variable it does not know (``extra="ignore"``), so a
misspelt ``REELHOUSE_NATS__ULR`` in a compose file or a manifest would ship silently and the
service would run on its default. ``accepts`` answers the question pydantic-settings never asks:
does this name reach a field? It follows pydantic-settings' own rules: the prefix, ``__`` between
nested models, case-insensitive names, field aliases (``REELHOUSE_LOG__JSON``), a nested model
given whole as JSON (``REELHOUSE_LOG='{"level": "DEBUG"}'``) and dict fields taking any key
(``REELHOUSE_SIGNING__KEYS__K2``).

``variables`` lists every leaf variable a settings class defines, with the default it has in that
service and the description of its field: the configuration reference is rendered from it.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

# each role's settings, in the order the reference lists them; `embedded` is `make run`
ROLE_SETTINGS: dict[str, str] = {
    "gateway": "reelhouse.gateway.settings",
    "dispatcher": "reelhouse.dispatcher.settings",
    "downloader": "reelhouse.downloader.settings",
    "assembler": "reelhouse.assembler.settings",
    "media": "reelhouse.media.settings",
    "sandbox": "reelhouse.sandbox.settings",
    "embedded": "reelhouse.embedded.settings",
}
# roles that run as their own process in compose or Kubernetes
SERVICE_ROLES = ("gateway", "dispatcher", "downloader", "assembler", "media", "sandbox")


def settings_class(role: str) -> type[BaseSettings]:
    cls = importlib.import_module(ROLE_SETTINGS[role]).Settings
    assert isinstance(cls, type)
    assert issubclass(cls, BaseSettings)
    return cls


@dataclass(frozen=True)
class Variable:
    """One leaf variable: ``REELHOUSE_NATS__URL``, its default here and what it means."""

    name: str
    default: Any
    description: str | None
    annotation: Any


def _unwrap(annotation: Any) -> Any:
    """``X | None``, ``Optional[X]`` and ``Annotated[X, …]`` as ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _mapping_value(annotation: Any) -> Any | None:
    """The value type of a dict-like field (``Any`` if unparameterised), else None."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, Mapping):
        args = get_args(annotation)
        return args[1] if len(args) == 2 else Any
    return None


def _alias(info: FieldInfo) -> str | None:
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    return alias if isinstance(alias, str) else None


def _keys(model: type[BaseModel], name: str, info: FieldInfo) -> set[str]:
    """The lower-cased keys by which an environment variable reaches this field."""
    alias = _alias(info)
    if alias is None:
        return {name.lower()}
    keys = {alias.lower()}
    if model.model_config.get("populate_by_name") or model.model_config.get("validate_by_name"):
        keys.add(name.lower())
    return keys


def _accepts_value(annotation: Any, rest: list[str]) -> bool:
    if not rest:
        return True  # the field itself, given whole (JSON for models, lists and dicts)
    sub = _model(annotation)
    if sub is not None:
        return _accepts_in(sub, rest)
    value = _mapping_value(annotation)
    if value is not None:
        # any key is a dict entry; deeper parts must reach into the entry's own type
        return _accepts_value(value, rest[1:])
    return False


def _accepts_in(model: type[BaseModel], parts: list[str]) -> bool:
    head, rest = parts[0], parts[1:]
    for name, info in model.model_fields.items():
        if head in _keys(model, name, info):
            return _accepts_value(info.annotation, rest)
    return False


def accepts(settings: type[BaseSettings], variable: str) -> bool:
    """Whether setting ``variable`` in the environment changes ``settings`` at all."""
    config = settings.model_config
    prefix = (config.get("env_prefix") or "").lower()
    delimiter = config.get("env_nested_delimiter") or None
    name = variable.lower()
    # a top-level field with an alias is read from exactly that name, without the prefix
    for info in settings.model_fields.values():
        alias = _alias(info)
        if alias is not None and name == alias.lower():
            return True
    if not prefix or not name.startswith(prefix):
        return False
    rest = name[len(prefix) :]
    parts = rest.split(delimiter) if delimiter else [rest]
    if not all(parts):
        return False
    return _accepts_in(settings, parts)


def variables(settings: type[BaseSettings]) -> list[Variable]:
    """Every leaf variable of ``settings``, with the default it has in this service."""
    config = settings.model_config
    prefix = (config.get("env_prefix") or "").upper()
    delimiter = config.get("env_nested_delimiter") or "__"
    found: list[Variable] = []

    def walk(model: type[BaseModel], defaults: BaseModel | None, path: list[str]) -> None:
        for name, info in model.model_fields.items():
            if defaults is not None:
                default = getattr(defaults, name)
            else:
                default = info.get_default(call_default_factory=True)
            key = (_alias(info) or name).upper()
            sub = _model(info.annotation)
            if sub is not None and isinstance(default, sub):
                walk(sub, default, [*path, key])
                continue
            found.append(
                Variable(
                    name=prefix + delimiter.join([*path, key]),
                    default=default,
                    description=info.description,
                    annotation=_unwrap(info.annotation),
                )
            )

    walk(settings, None, [])
    return found
