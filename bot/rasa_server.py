"""`python -m bot.rasa_server run …`: Rasa's own CLI, with bot.rasa_patches applied first."""

from __future__ import annotations

from bot.rasa_patches import apply

if __name__ == "__main__":
    apply()
    from rasa.__main__ import main

    main()
