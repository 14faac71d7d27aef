"""The reply every channel renders: text for plain channels plus the `meso` envelope."""

from bot.replies.reply import Button, Citation, Escalation, Reply, ReplyKind

__all__ = ["Button", "Citation", "Escalation", "Reply", "ReplyKind"]
