"""Rasa SDK's plugin package: `rasa run actions` imports a package of this name when it finds one
and calls `init_hooks` (rasa_sdk/plugin.py), then its `attach_sanic_app_extensions` hook on the
action server's Sanic app before serving (before any worker is forked). That is the SDK's own
extension point; we use it to add /health/live, /health/ready and /metrics
(bot/observability/endpoints.py). The project root must be on the import path, as it already
must be for `--actions actions`."""

from __future__ import annotations

import sys
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("rasa_sdk")


def knowledge_ready(_: Any) -> tuple[bool, dict[str, Any]]:
    """The action server is ready once the knowledge base it answers from is loaded (the first
    readiness check loads it, so the first patient does not wait for that)."""
    from actions.services import services

    try:
        version = services().knowledge.current().version
    except Exception as exc:  # a broken knowledge base: not ready, and say why
        return False, {"knowledge": type(exc).__name__}
    return True, {"knowledge_version": version}


@hookimpl
def attach_sanic_app_extensions(app: Any) -> None:
    from bot.observability.endpoints import sanic_blueprint

    app.blueprint(sanic_blueprint(knowledge_ready))


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(sys.modules[__name__])
