"""Which language a patient writes in, and the script normalisation every matcher relies on.

from bot.language import identify
identify("mere hoth sooj gaye").code   # "hinglish"; .reply == "en"
"""

from .identify import LanguageGuess, identify
from .normalise import normalise_text, normalise_word

__all__ = ["LanguageGuess", "identify", "normalise_text", "normalise_word"]
