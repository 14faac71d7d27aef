"""Everything that meets Rasa: NLU components, tracker store, channels, patches, and the parts
of domain.yml and data/rules.yml generated from the clinic's data. The rest of bot/ never
imports rasa."""
