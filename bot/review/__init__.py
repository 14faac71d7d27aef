"""The review queue (conversation-driven development): the patient messages the assistant was
unsure about are captured as they are answered (`capture`), labelled by staff in the clinician
inbox or from the command line (`queue`), and exported as Rasa NLU training data and triage
regression cases for the next training (`export`)."""
