"""The SymptomTriage Rasa component: on real Rasa Messages, and inside a trained NLU model."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.clinic import clinic_config
from bot.rasa.components.triage import SymptomTriage

RANKING = [{"name": "ask_downtime", "confidence": 0.8}, {"name": "ask_cost", "confidence": 0.2}]


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> SymptomTriage:
    return SymptomTriage.create(
        SymptomTriage.get_default_config(),
        LocalModelStorage(tmp_path_factory.mktemp("storage")),
        Resource("symptom_triage"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def classified(text: str) -> Message:
    """A message as the intent classifiers leave it."""
    message = Message(data={"text": text})
    message.set("intent", dict(RANKING[0]), add_to_output=True)
    message.set("intent_ranking", [dict(r) for r in RANKING], add_to_output=True)
    return message


def entity_values(message: Message) -> dict[str, Any]:
    return {e["entity"]: e for e in message.get("entities", [])}


def test_emergency_overrides_intent_keeps_ranking_and_adds_contacts(
    component: SymptomTriage,
) -> None:
    [message] = component.process([classified("my lips are swelling and I can't breathe")])
    assert message.get("intent") == {"name": "report_emergency", "confidence": 1.0}
    assert message.get("intent_ranking") == RANKING
    triage = message.get("triage")
    assert triage["severity"] == "emergency"
    assert {m["concept"] for m in triage["mentions"]} == {"lip_swelling", "breathing_difficulty"}
    clinic = clinic_config()
    entities = entity_values(message)
    assert entities["emergency_number"]["value"] == clinic.emergency_number
    assert entities["clinic_phone"]["value"] == clinic.phone
    for entity in entities.values():
        assert (entity["start"], entity["end"], entity["extractor"]) == (0, 0, "SymptomTriage")
    assert {"intent", "triage", "entities"} <= message.output_properties


def test_urgent_and_routine_report_a_symptom(component: SymptomTriage) -> None:
    urgent, routine = component.process(
        [classified("I have a fever since yesterday"), classified("a small bruise, how long?")]
    )
    assert urgent.get("intent")["name"] == "report_symptom"
    assert urgent.get("triage")["severity"] == "urgent"
    assert routine.get("intent")["name"] == "report_symptom"
    assert routine.get("triage")["severity"] == "routine"
    assert routine.get("intent_ranking") == RANKING


def test_question_without_symptom_keeps_its_intent(component: SymptomTriage) -> None:
    [message] = component.process([classified("is swelling normal after meso?")])
    assert message.get("intent") == RANKING[0]
    found = message.get("triage")
    assert found["severity"] is None and found["caught_by"] == []
    assert found["mentions"] == [
        {
            "text": "swelling",
            "concept": "swelling",
            "start": 3,
            "end": 11,
            "status": "risk_question",
            "modifiers": [],
        }
    ]
    assert found["rules"] == [] and found["language"] == "en" and not found["help_request"]
    assert "entities" not in message.data


def test_message_without_text_is_left_alone(component: SymptomTriage) -> None:
    message = Message(data={"intent": {"name": "greet", "confidence": 1.0}})
    [same] = component.process([message])
    assert same.get("triage") is None
    assert same.get("intent")["name"] == "greet"


def test_training_data_passes_unchanged(component: SymptomTriage) -> None:
    data = TrainingData([Message(data={"text": "hi", "intent": "greet"})])
    assert component.process_training_data(data) is data


def test_relative_paths_are_read_from_the_project_root(tmp_path: Path) -> None:
    config = {"rules_dir": "data/triage", "clinic_config": "data/clinic.yml"}
    made = SymptomTriage.create(
        config,
        LocalModelStorage(tmp_path),
        Resource("symptom_triage"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert made.rules_dir.is_dir()
    assert made.clinic.emergency_number == clinic_config().emergency_number


NLU_DATA = """\
version: "3.1"
nlu:
- intent: ask_cost
  examples: |
    - price
    - cost
- intent: ask_downtime
  examples: |
    - downtime
    - recovery
"""

CONFIG = """\
recipe: default.v1
language: en
assistant_id: triage-component-test
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
    case_sensitive: false
  - name: bot.rasa.components.language.LanguageChoice
  - name: bot.rasa.components.triage.SymptomTriage
    rules_dir: data/triage
    clinic_config: data/clinic.yml
policies: []
"""

DOMAIN = """\
version: "3.1"
intents: [ask_cost, ask_downtime, report_symptom, report_emergency]
entities: [emergency_number, clinic_phone]
"""


@pytest.mark.e2e
async def test_trained_model_overrides_intent_and_carries_triage(tmp_path: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    (tmp_path / "nlu.yml").write_text(textwrap.dedent(NLU_DATA))
    (tmp_path / "config.yml").write_text(CONFIG)
    (tmp_path / "domain.yml").write_text(DOMAIN)
    model = train_nlu(
        str(tmp_path / "config.yml"),
        str(tmp_path / "nlu.yml"),
        str(tmp_path / "models"),
        domain=str(tmp_path / "domain.yml"),
    )
    assert model
    agent = Agent.load(model)

    plain = await agent.parse_message("what is the price")
    assert plain["intent"]["name"] == "ask_cost"
    assert plain["triage"]["severity"] is None
    assert plain["triage"]["mentions"] == [] and plain["triage"]["rules"] == []
    assert [(e["entity"], e["value"]) for e in plain["entities"]] == [("reply_lang", "en")]

    emergency = await agent.parse_message("my lips are swelling, what is the price?")
    assert emergency["intent"] == {"name": "report_emergency", "confidence": 1.0}
    assert emergency["triage"]["severity"] == "emergency"
    assert emergency["triage"]["rules"] == ["emergency_airway_swelling"]
    entities = {e["entity"]: e["value"] for e in emergency["entities"]}
    assert entities == {
        "emergency_number": clinic_config().emergency_number,
        "clinic_phone": clinic_config().phone,
        "clinic_name": clinic_config().name,
        "reply_lang": "en",
    }

    urgent = await agent.parse_message("the redness is spreading and hot, any downtime?")
    assert urgent["intent"]["name"] == "report_symptom"
    assert urgent["triage"]["severity"] == "urgent"

    question = await agent.parse_message("what is the downtime if I bruise?")
    assert question["intent"]["name"] == "ask_downtime"
    assert question["triage"]["mentions"][0]["status"] == "hypothetical"
