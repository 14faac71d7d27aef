"""Web server settings from the environment, with defaults for a single-machine clinic."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    rasa_url: str = "http://localhost:5005"  # what the widget and kiosk connect to
    kiosk_idle_seconds: int | None = None  # None: from data/clinic.yml
    secure_cookies: bool = False  # True behind HTTPS

    @classmethod
    def from_env(cls) -> WebSettings:
        idle = os.environ.get("MESO_KIOSK_IDLE_SECONDS")
        return cls(
            host=os.environ.get("MESO_WEB_HOST", cls.host),
            port=int(os.environ.get("MESO_WEB_PORT", cls.port)),
            rasa_url=os.environ.get("MESO_RASA_URL", cls.rasa_url),
            kiosk_idle_seconds=int(idle) if idle else None,
            secure_cookies=os.environ.get("MESO_SECURE_COOKIES", "") == "1",
        )
