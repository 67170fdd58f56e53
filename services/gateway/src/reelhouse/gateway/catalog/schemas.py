"""API shapes of the model catalogue."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from reelhouse.gateway.catalog.entries import Kind, OutputKind, PriceUnit
from reelhouse.gateway.catalog.loader import CatalogModel


class RouteOut(BaseModel):
    """One way the model runs: a provider and that provider's name for the model."""

    provider: str = Field(examples=["sandbox"])
    provider_model: str = Field(examples=["sandbox/text-to-video"])


class PriceOut(BaseModel):
    """The price basis: per second of output, per image, per run or per second of provider
    compute (`prediction_second`); ``usd`` None means unknown (see ``note``)."""

    unit: PriceUnit
    usd: float | None
    note: str | None
    simulated: bool = Field(
        default=False,
        description="A nominal price for a model that costs nothing (the sandbox), so the cost "
        "flow can be tried without keys",
    )
    typical_seconds: float | None = Field(
        default=None,
        description="`prediction_second` only: the compute seconds a run typically takes (the "
        "basis of the estimate)",
    )


class ModelOut(BaseModel):
    id: str = Field(examples=["sandbox/text-to-video"])
    kind: Kind
    output: OutputKind
    description: str
    providers: list[RouteOut] = Field(
        description="Routes in the order they are tried: the first, then fallbacks"
    )
    input_schema: dict[str, Any] = Field(description="JSON Schema (Draft 2020-12) of `input`")
    defaults: dict[str, Any] = Field(
        description="Values used for the `input` fields a request leaves out"
    )
    price: PriceOut
    available: bool = Field(
        description="Whether this deployment can run the model (one of its providers is "
        "configured); submitting to an unavailable model is a 422 `model_unavailable`"
    )
    unavailable_reason: str | None = Field(
        default=None, description="Why the model cannot run here, when `available` is false"
    )

    @classmethod
    def of(cls, model: CatalogModel, *, unavailable_reason: str | None = None) -> ModelOut:
        return cls(
            id=model.id,
            kind=model.kind,
            output=model.output,
            description=model.description,
            providers=[
                RouteOut(provider=r.provider, provider_model=r.provider_model) for r in model.routes
            ],
            input_schema=dict(model.input_schema),
            defaults=model.defaults,
            price=PriceOut(
                unit=model.price.unit,
                usd=model.price.usd,
                note=model.price.note,
                simulated=model.price.simulated,
                typical_seconds=model.price.typical_seconds,
            ),
            available=unavailable_reason is None,
            unavailable_reason=unavailable_reason,
        )


class ModelList(BaseModel):
    data: list[ModelOut]
