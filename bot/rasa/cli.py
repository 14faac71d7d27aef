"""`python -m bot.rasa.cli run …`: Rasa's own CLI, with bot.rasa.patches applied first."""

from __future__ import annotations

from bot.rasa.patches import apply

if __name__ == "__main__":
    apply()
    from rasa.__main__ import main

    main()
