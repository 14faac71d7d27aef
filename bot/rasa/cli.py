"""`python -m bot.rasa.cli run …`: Rasa's own CLI, with bot.rasa.patches, bot.rasa.handoff
(paused conversations) and bot.rasa.observe applied first."""

from __future__ import annotations

from bot.rasa import handoff, observe, patches

if __name__ == "__main__":
    patches.apply()
    handoff.apply()
    observe.apply()
    from rasa.__main__ import main

    main()
