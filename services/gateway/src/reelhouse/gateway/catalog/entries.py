"""The shape of a catalogue data file: ``{"models": [entry, …]}``, checked strictly.

The shipped ``models.json`` and every operator file (``REELHOUSE_CATALOG_PATHS``) follow
it; an unknown key, a missing field or a wrong type is refused with its location.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["text-to-video", "image-to-video", "text-to-image", "text-to-music"]
OutputKind = Literal["video", "image", "audio"]
PriceUnit = Literal["second", "image", "run", "prediction_second"]

# provider names are plain identifiers ("sandbox", "sandbox-fal", "replicate", "fal")
PROVIDER_NAME = r"^[a-z][a-z0-9_-]{0,49}$"
MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}$"


class RouteEntry(BaseModel):
    """One way to run a model: a configured provider and its own name for the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(pattern=PROVIDER_NAME, examples=["replicate"])
    provider_model: str = Field(min_length=1, max_length=200, examples=["minimax/video-01"])


class PriceEntry(BaseModel):
    """What a generation costs, as a basis for estimates (``usd`` None: see the note)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: PriceUnit = Field(
        description="What the price is per: a second of output, an image, a run, or a second "
        "of the provider's compute time (`prediction_second`, e.g. Replicate's hardware price)"
    )
    usd: float | None = Field(
        default=None, ge=0, le=1_000_000, description="US dollars per unit, if known"
    )
    note: str | None = Field(default=None, max_length=500)
    simulated: bool = Field(
        default=False, description="A nominal price of a model that costs nothing (the sandbox)"
    )
    typical_seconds: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="For `prediction_second`: the compute seconds a run typically takes, so a "
        "submit can be estimated (none: the estimate is unknown)",
    )


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=MODEL_ID)
    kind: Kind
    description: str = ""
    # in order: the first is tried first, the others are fallbacks
    providers: list[RouteEntry] = Field(min_length=1, max_length=10)
    input_schema: dict[str, Any]
    price: PriceEntry


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[ModelEntry]
