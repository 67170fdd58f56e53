"""API shapes of the model catalogue."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from reelhouse.gateway.catalog.loader import CatalogModel, Kind


class ModelOut(BaseModel):
    id: str = Field(examples=["sandbox/text-to-video"])
    provider: str = Field(examples=["sandbox"])
    kind: Kind
    output: Literal["video", "image", "audio"]
    description: str
    input_schema: dict[str, Any] = Field(description="JSON Schema (Draft 2020-12) of `input`")

    @classmethod
    def of(cls, model: CatalogModel) -> ModelOut:
        return cls(
            id=model.id,
            provider=model.provider,
            kind=model.kind,
            output=model.output,
            description=model.description,
            input_schema=dict(model.input_schema),
        )


class ModelList(BaseModel):
    data: list[ModelOut]
