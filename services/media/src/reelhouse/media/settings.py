"""The media service's settings: ``REELHOUSE_`` environment variables, ``__`` nesting.

There is no cache lifetime knob: ``Cache-Control: max-age`` is the remaining
lifetime of the signed URL that was presented, so a cached copy never outlives
the permission to fetch it.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings

from reelhouse.common.settings import (
    HttpSettings,
    LogSettings,
    SigningSettings,
    StorageSettings,
    settings_config,
)

DEFAULT_PORT = 8001


class Settings(BaseSettings):
    model_config = settings_config()

    http: HttpSettings = HttpSettings(port=DEFAULT_PORT)
    storage: StorageSettings = StorageSettings()
    signing: SigningSettings = SigningSettings()
    log: LogSettings = LogSettings()
