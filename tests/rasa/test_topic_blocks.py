"""FAQ intents and rules come from the topic files; `bot check` says what a topic lacks."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
import yaml

from bot.datafiles import DataFileError
from bot.paths import DATA_DIR, KNOWLEDGE_DIR, PROJECT_ROOT
from bot.rasa.generated import GeneratedBlock
from bot.rasa.topics import (
    MIN_EXAMPLES,
    TOPIC_INTENTS,
    TOPIC_RULES,
    TOPICS_SOURCE,
    check_topic_examples,
    topic_rules_yaml,
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(KNOWLEDGE_DIR, tmp_path / "knowledge")
    for name in ("nlu.yml", "rules.yml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    shutil.copy(PROJECT_ROOT / "domain.yml", tmp_path / "domain.yml")
    return tmp_path


def _add_topic(workspace: Path, topic: str = "microneedling") -> None:
    data = yaml.safe_load((workspace / "knowledge" / "topics" / "history.yml").read_text())
    data.update(id=topic, title="Is it the same as microneedling?", related=[])
    data.pop("questions_go_to", None)
    (workspace / "knowledge" / "topics" / f"{topic}.yml").write_text(yaml.safe_dump(data))


def test_the_project_blocks_match_the_topic_files() -> None:
    TOPIC_INTENTS.check()
    TOPIC_RULES.check()
    check_topic_examples()
    rules = yaml.safe_load((DATA_DIR / "rules.yml").read_text())["rules"]
    for topic in sorted(p.stem for p in (KNOWLEDGE_DIR / "topics").glob("*.yml")):
        assert {
            "rule": f"answer ask_{topic}",
            "steps": [{"intent": f"ask_{topic}"}, {"action": "action_answer_topic"}],
        } in rules


def test_a_new_topic_file_shows_what_is_missing_until_done(workspace: Path) -> None:
    rules = GeneratedBlock(
        workspace / "rules.yml",
        TOPICS_SOURCE,
        "  ",
        functools.partial(topic_rules_yaml, workspace / "knowledge"),
    )
    _add_topic(workspace)
    with pytest.raises(DataFileError, match="differs from data/knowledge/topics"):
        rules.check()
    with pytest.raises(DataFileError, match="topic 'microneedling' needs at least") as missing:
        check_topic_examples(workspace / "nlu.yml", workspace / "knowledge")
    assert "ask_microneedling" in str(missing.value)

    assert rules.write() is True
    rules.check()
    examples = "".join(f"    - is meso like microneedling, take {i}\n" for i in range(MIN_EXAMPLES))
    with open(workspace / "nlu.yml", "a", encoding="utf-8") as nlu:
        nlu.write(f"\n- intent: ask_microneedling\n  examples: |\n{examples}")
    check_topic_examples(workspace / "nlu.yml", workspace / "knowledge")
    assert "intent: ask_microneedling" in (workspace / "rules.yml").read_text()


def test_examples_for_a_removed_topic_are_named(workspace: Path) -> None:
    (workspace / "knowledge" / "topics" / "history.yml").unlink()
    for path in (workspace / "knowledge" / "topics").glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        if "history" in data.get("related", []):
            data["related"].remove("history")
            path.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match="ask_history have no topic file"):
        check_topic_examples(workspace / "nlu.yml", workspace / "knowledge")


def test_a_topic_without_examples_must_be_linked_from_where_its_questions_go(
    workspace: Path,
) -> None:
    redirected = workspace / "knowledge" / "topics" / "pigmentation.yml"
    redirected.write_text(redirected.read_text() + "questions_go_to: skin_rejuvenation\n")
    check_topic_examples(workspace / "nlu.yml", workspace / "knowledge")  # linked back: fine
    target = workspace / "knowledge" / "topics" / "skin_rejuvenation.yml"
    data = yaml.safe_load(target.read_text())
    data["related"].remove("pigmentation")
    target.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match="must list 'pigmentation' under related"):
        check_topic_examples(workspace / "nlu.yml", workspace / "knowledge")


def test_a_hand_edit_inside_a_block_is_caught(workspace: Path) -> None:
    domain = workspace / "domain.yml"
    domain.write_text(domain.read_text().replace("  - ask_cost\n", "", 1))
    block = GeneratedBlock(domain, TOPICS_SOURCE, "  ", TOPIC_INTENTS.render)
    with pytest.raises(DataFileError, match="python -m bot domain"):
        block.check()
    assert block.write() is True
    block.check()
