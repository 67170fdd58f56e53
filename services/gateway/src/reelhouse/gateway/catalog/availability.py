"""Which providers this deployment can reach, so the catalogue lists only what can run.

The dispatcher is the only service that holds provider credentials; the gateway learns
which providers are configured from ``REELHOUSE_CONFIGURED_PROVIDERS`` or, when that is
unset, from the same variables the dispatcher reads (a provider counts as configured when
its token or key is set and not empty; the sandbox's defaults make both sandbox providers
configured unless their variables are set empty, as ``SANDBOX_TOKEN=`` does in compose).
"""

from __future__ import annotations

from collections.abc import Mapping

# provider → (the dispatcher's variable holding its token or key, configured when unset?)
DISPATCHER_CREDENTIALS: dict[str, tuple[str, bool]] = {
    "sandbox": ("REELHOUSE_PROVIDERS__SANDBOX__API_TOKEN", True),
    "sandbox-fal": ("REELHOUSE_PROVIDERS__SANDBOX_FAL__KEY", True),
    "replicate": ("REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN", False),
    "fal": ("REELHOUSE_PROVIDERS__FAL__KEY", False),
}


def providers_from_environment(environ: Mapping[str, str]) -> frozenset[str]:
    """The providers the dispatcher would register given ``environ``."""
    configured = set()
    for provider, (variable, by_default) in DISPATCHER_CREDENTIALS.items():
        value = environ.get(variable)
        if (value is None and by_default) or (value is not None and value.strip()):
            configured.add(provider)
    return frozenset(configured)


def configured_providers(explicit: list[str] | None, environ: Mapping[str, str]) -> frozenset[str]:
    """``REELHOUSE_CONFIGURED_PROVIDERS`` when set, else what the environment tells."""
    if explicit is not None:
        return frozenset(explicit)
    return providers_from_environment(environ)
