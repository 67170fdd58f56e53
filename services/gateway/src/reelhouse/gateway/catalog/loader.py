"""The model catalogue: which models this deployment offers, how to run them, what they take.

The shipped data lives in ``models.json`` beside this module; operators add files of the
same shape (``REELHOUSE_CATALOG_PATHS``), merged over it in order: an entry with an id
already present replaces it, a new id is added. Every entry carries a JSON Schema
(Draft 2020-12) for its ``input``. Loading checks everything, so a bad file fails
start-up with a message naming the file and the problem, never the first request.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from reelhouse.common.events import ProviderRoute
from reelhouse.gateway.catalog.entries import CatalogFile, Kind, ModelEntry, OutputKind, PriceEntry
from reelhouse.gateway.catalog.uris import UriPolicy, uri_errors
from reelhouse.gateway.catalog.validation import (
    InvalidInputError,
    input_errors,
    nul_errors,
    schema_defaults,
    with_defaults,
)

CATALOGUE_RESOURCE = "models.json"
SHIPPED_SOURCE = "the shipped catalogue (reelhouse/gateway/catalog/models.json)"

_OUTPUT_OF_KIND: dict[str, OutputKind] = {
    "text-to-video": "video",
    "image-to-video": "video",
    "text-to-image": "image",
    "text-to-music": "audio",
}


class CatalogError(ValueError):
    """A catalogue file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    kind: Kind
    description: str
    routes: tuple[ProviderRoute, ...]
    input_schema: Mapping[str, Any]
    price: PriceEntry
    # where the entry came from (the shipped catalogue or an operator's file)
    source: str
    _validator: Draft202012Validator = field(repr=False, compare=False)
    # what ``"format": "uri"`` inputs may be (set by ``Catalog.configured``)
    uri_policy: UriPolicy = field(default_factory=UriPolicy, compare=False)

    @property
    def output(self) -> OutputKind:
        return _OUTPUT_OF_KIND[self.kind]

    @property
    def provider(self) -> str:
        """The first route's provider (tried first)."""
        return self.routes[0].provider

    @property
    def provider_model(self) -> str:
        return self.routes[0].provider_model

    @property
    def defaults(self) -> dict[str, Any]:
        """The values filled in for fields the request leaves out."""
        return schema_defaults(self.input_schema)

    def prepare_input(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The input with schema defaults filled in, or ``InvalidInputError`` listing every fault."""
        prepared = with_defaults(self.input_schema, raw)
        found = {err for e in self._validator.iter_errors(prepared) for err in input_errors(e)}
        found.update(nul_errors(prepared))
        found.update(uri_errors(self.input_schema, prepared, self.uri_policy))
        errors = sorted(found, key=lambda e: (e.path, e.message))
        if errors:
            raise InvalidInputError(errors)
        return prepared


class Catalog:
    """The models on offer; ``providers`` are the configured ones (None: assume all are)."""

    def __init__(
        self, models: Iterable[CatalogModel], *, providers: frozenset[str] | None = None
    ) -> None:
        self._models = {m.id: m for m in models}
        self._providers = providers

    def get(self, model_id: str) -> CatalogModel | None:
        return self._models.get(model_id)

    def merged(self, other: Catalog) -> Catalog:
        """This catalogue with ``other``'s entries on top (same id replaces, in place)."""
        return Catalog([*self._models.values(), *other._models.values()], providers=self._providers)

    def configured(self, *, providers: frozenset[str], uri_policy: UriPolicy) -> Catalog:
        """The same models, knowing the deployment's providers and what input URIs it takes."""
        return Catalog(
            (dataclasses.replace(m, uri_policy=uri_policy) for m in self._models.values()),
            providers=providers,
        )

    def unavailable_reason(self, model: CatalogModel) -> str | None:
        """Why ``model`` cannot run here, or None when one of its routes' providers can."""
        if self._providers is None or any(r.provider in self._providers for r in model.routes):
            return None
        names = sorted({r.provider for r in model.routes})
        return (
            f"provider not configured: {', '.join(names)} (this deployment has no credentials "
            "for it)"
        )

    def __iter__(self) -> Iterator[CatalogModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)


def _model_from(entry: ModelEntry, source: str) -> CatalogModel:
    schema = entry.input_schema
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise CatalogError(
            f"{source}: model {entry.id!r}: input_schema is not a valid JSON Schema: {exc.message}"
        ) from exc
    if schema.get("type") != "object":
        raise CatalogError(f'{source}: model {entry.id!r}: input_schema must have "type": "object"')
    return CatalogModel(
        id=entry.id,
        kind=entry.kind,
        description=entry.description,
        routes=tuple(
            ProviderRoute(provider=r.provider, provider_model=r.provider_model)
            for r in entry.providers
        ),
        input_schema=schema,
        price=entry.price,
        source=source,
        _validator=Draft202012Validator(schema),
    )


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
        for err in exc.errors()
    )


def parse_catalog(data: Any, *, source: str = "catalogue") -> Catalog:
    """A catalogue from decoded JSON; ``CatalogError`` says what is wrong and where."""
    try:
        parsed = CatalogFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{source}: {_describe(exc)}") from exc
    seen: set[str] = set()
    for entry in parsed.models:
        if entry.id in seen:
            raise CatalogError(f"{source}: model {entry.id!r} is declared twice")
        seen.add(entry.id)
    return Catalog(_model_from(entry, source) for entry in parsed.models)


def read_catalog_file(path: Path) -> Catalog:
    source = f"catalogue file {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise CatalogError(f"{source}: cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{source}: not valid JSON: {exc}") from exc
    return parse_catalog(data, source=source)


def load_catalog(extra_paths: Iterable[Path] = ()) -> Catalog:
    """The shipped catalogue with each operator file merged over it, in order."""
    text = (
        resources.files("reelhouse.gateway.catalog").joinpath(CATALOGUE_RESOURCE).read_text("utf-8")
    )
    catalog = parse_catalog(json.loads(text), source=SHIPPED_SOURCE)
    for path in extra_paths:
        catalog = catalog.merged(read_catalog_file(path))
    return catalog
