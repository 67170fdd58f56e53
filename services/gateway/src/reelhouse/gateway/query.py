"""Query strings are checked, not skimmed: a parameter an operation does not declare is a 422.

``reject_unknown_query`` is a dependency any route (or router) can take: it reads the
parameters the route itself declares (its own and its dependencies'), so it never needs
a list kept by hand.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from reelhouse.gateway.problems import FieldError, ProblemError

# how much of an unknown name a problem quotes, and how many names it lists
_NAME_PREFIX = 40
_MAX_LISTED = 10


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def declared_query_params(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` takes, its dependencies' included."""
    return frozenset(_query_names(route.dependant))


async def reject_unknown_query(request: Request) -> None:
    """422 ``validation_error`` naming each query parameter the route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = declared_query_params(route)  # a walk over a few parameters: not cached
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise ProblemError(
            "validation_error",
            "Unknown query parameter; this operation takes: "
            + (", ".join(sorted(declared)) or "none")
            + ".",
            errors=[
                FieldError(path=f"query.{name[:_NAME_PREFIX]}", message="unknown query parameter")
                for name in unknown[:_MAX_LISTED]
            ],
        )
