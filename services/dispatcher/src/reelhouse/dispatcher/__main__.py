"""``python -m reelhouse.dispatcher``: the only place that reads the environment."""

from __future__ import annotations

from pydantic import ValidationError

from reelhouse.common.logging import configure_logging
from reelhouse.common.serving import serve
from reelhouse.common.settings import ENV_PREFIX
from reelhouse.dispatcher.app import build_app
from reelhouse.dispatcher.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise SystemExit(f"invalid dispatcher configuration: {problems}") from None


def main() -> None:
    settings = _settings()
    configure_logging(level=settings.log.level, json=settings.log.json_output, service="dispatcher")
    serve(build_app(settings), settings.http, ws="none", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
