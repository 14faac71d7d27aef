"""Everything held about one conversation, as JSON, for a patient who asks for a copy."""

from __future__ import annotations

from typing import Any

from bot.privacy.registry import PrivacyContext, places
from bot.storage.models import utcnow

FORMAT = "meso-privacy-export/1"


def export_conversation(ctx: PrivacyContext, conversation_id: str) -> dict[str, Any]:
    """{format, conversation_id, exported_at, places: {name: {what, items}}}; every registered
    place appears, with an empty list when it holds nothing about this conversation."""
    return {
        "format": FORMAT,
        "conversation_id": conversation_id,
        "exported_at": utcnow().isoformat(),
        "places": {
            place.name: {"what": place.what, "items": place.export(ctx, conversation_id)}
            for place in places()
        },
    }


def item_counts(export: dict[str, Any]) -> dict[str, int]:
    return {name: len(place["items"]) for name, place in export["places"].items()}
