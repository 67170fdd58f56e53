"""``/v1/models``: what this deployment can generate, with each model's input schema."""

from __future__ import annotations

from fastapi import APIRouter

from reelhouse.gateway.auth.dependencies import ReadScope
from reelhouse.gateway.catalog.schemas import ModelList, ModelOut
from reelhouse.gateway.dependencies import CatalogDep
from reelhouse.gateway.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get(
    "",
    response_model=ModelList,
    summary="List the models on offer",
    responses=problem_responses("unauthorized", "insufficient_scope"),
)
async def list_models(catalog: CatalogDep, owner: ReadScope) -> ModelList:
    return ModelList(
        data=[
            ModelOut.of(model, unavailable_reason=catalog.unavailable_reason(model))
            for model in catalog
        ]
    )


@router.get(
    "/{model_id:path}",
    response_model=ModelOut,
    summary="Describe one model",
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "validation_error"
    ),
)
async def get_model(model_id: str, catalog: CatalogDep, owner: ReadScope) -> ModelOut:
    model = catalog.get(model_id)
    if model is None:
        raise ProblemError("not_found", f"No model {model_id!r} in this deployment.")
    return ModelOut.of(model, unavailable_reason=catalog.unavailable_reason(model))
