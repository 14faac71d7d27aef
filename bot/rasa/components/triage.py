"""SymptomTriage: the Rasa NLU component that runs symptom triage on every user message.

Place it after the intent classifier and FallbackClassifier in config.yml:

    - name: bot.rasa.components.triage.SymptomTriage
      rules_dir: data/triage        # the triage data files (default)
      clinic_config: data/clinic.yml  # for the emergency number and clinic phone (default)

For each message it stores the TriageResult as `message["triage"]` (in the parse data), judged
together with the conversation's last patient messages (`metadata["meso_history"]`, which
bot.rasa.patches adds from the tracker). When the result escalates, it sets the intent to
report_emergency or report_symptom with confidence 1.0, leaves `intent_ranking` as the
classifiers made it (so the question that came with the symptom can still be answered), and adds
the entities `emergency_number`, `clinic_phone` and `clinic_name` (start and end 0; `reply_lang`
comes from the language component, bot/rasa/components/language.py)
so a domain response can show them, in the patient's language, without the action server. A cry
for help that names no symptom gets the intent help_request and the same entities.
Relative paths are read from the project root; the two defaults follow bot.paths, so the
MESO_DATA_DIR and MESO_CLINIC_CONFIG environment variables apply to them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    METADATA,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.clinic import ClinicConfig, clinic_config
from bot.paths import CLINIC_CONFIG, PROJECT_ROOT, TRIAGE_DIR
from bot.rasa.components.base import add_slot_entities, set_intent
from bot.rasa.components.language import LANGUAGE_KEY
from bot.triage.detect import pipeline, triage
from bot.triage.result import TriageResult
from bot.triage.statistical import load_detector

TRIAGE_KEY = "triage"
EMERGENCY_INTENT = "report_emergency"
SYMPTOM_INTENT = "report_symptom"
HELP_INTENT = "help_request"
HISTORY_KEY = "meso_history"  # earlier patient messages, oldest first (bot.rasa.patches)
DEFAULT_RULES_DIR = "data/triage"
DEFAULT_CLINIC_CONFIG = "data/clinic.yml"


def resolve(value: str, default: str, default_path: Path) -> Path:
    """The configured path: the default follows bot.paths; other relative paths the project root."""
    if value == default:
        return default_path
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SymptomTriage(GraphComponent, IntentClassifier):
    """Triage of reported symptoms; overrides the intent when a symptom escalates."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"rules_dir": DEFAULT_RULES_DIR, "clinic_config": DEFAULT_CLINIC_CONFIG}

    def __init__(self, rules_dir: Path, clinic: ClinicConfig) -> None:
        self.rules_dir = rules_dir
        self.clinic = clinic
        pipeline(rules_dir)  # build now: bad data files fail at model load, not on a message
        load_detector()  # likewise; a missing model is logged and the rules decide alone

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SymptomTriage:
        rules_dir = resolve(config["rules_dir"], DEFAULT_RULES_DIR, TRIAGE_DIR)
        clinic_path = resolve(config["clinic_config"], DEFAULT_CLINIC_CONFIG, CLINIC_CONFIG)
        return cls(rules_dir, clinic_config(clinic_path))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                history = (message.get(METADATA) or {}).get(HISTORY_KEY) or ()
                result = triage(text, self.rules_dir, history=tuple(history))
                chosen = (message.get(LANGUAGE_KEY) or {}).get("reply")
                if chosen:  # the language component's decision (the patient may have chosen)
                    result = replace(result, reply_language=chosen)
                self.annotate(message, result)
        return messages

    def annotate(self, message: Message, result: TriageResult) -> None:
        """Store the result; on escalation, override the intent and add the contact entities."""
        message.set(TRIAGE_KEY, result.as_dict(), add_to_output=True)
        if result.escalate:
            name = EMERGENCY_INTENT if result.severity == "emergency" else SYMPTOM_INTENT
        elif result.help_request:
            name = HELP_INTENT
        else:
            return
        set_intent(message, name)
        contacts = [
            ("emergency_number", self.clinic.emergency_number),
            ("clinic_phone", self.clinic.phone),
            ("clinic_name", self.clinic.name),
        ]
        add_slot_entities(message, contacts, type(self).__name__)
