"""What a knowledge-base topic needs on the Rasa side, generated from data/knowledge/topics.

Adding a topic is one new topic file plus its NLU examples: its intent (domain.yml) and its
answer rule (data/rules.yml) are generated, and `python -m bot check` says what is missing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.datafiles import DataFileError, read_nlu_examples
from bot.knowledge.files import read_knowledge_files
from bot.paths import DATA_DIR, KNOWLEDGE_DIR, PROJECT_ROOT
from bot.rasa.generated import GeneratedBlock, yaml_lines
from bot.replies.payloads import topic_intent, topic_of_intent

ANSWER_ACTION = "action_answer_topic"
MIN_EXAMPLES = 8  # fewer, and the classifier rarely picks the topic for an unseen phrasing
TOPICS_SOURCE = "data/knowledge/topics"


def topic_ids(directory: Path = KNOWLEDGE_DIR) -> list[str]:
    return sorted(read_knowledge_files(directory, seeds_dir=None, languages=()).topics)


def topic_intents_yaml(directory: Path = KNOWLEDGE_DIR) -> str:
    return yaml_lines([topic_intent(t) for t in topic_ids(directory)], "  ")


def topic_rules_yaml(directory: Path = KNOWLEDGE_DIR) -> str:
    rules = [
        {
            "rule": f"answer {topic_intent(t)}",
            "steps": [{"intent": topic_intent(t)}, {"action": ANSWER_ACTION}],
        }
        for t in topic_ids(directory)
    ]
    return yaml_lines(rules, "  ")


TOPIC_INTENTS = GeneratedBlock(PROJECT_ROOT / "domain.yml", TOPICS_SOURCE, "  ", topic_intents_yaml)
TOPIC_RULES = GeneratedBlock(DATA_DIR / "rules.yml", TOPICS_SOURCE, "  ", topic_rules_yaml)


def nlu_files(data_dir: Path = DATA_DIR) -> list[Path]:
    """The NLU training files: data/nlu.yml (English) and data/nlu.<language>.yml."""
    return sorted(data_dir.glob("nlu*.yml"))


def check_topic_examples(
    files: list[Path] | Path | None = None, directory: Path = KNOWLEDGE_DIR
) -> None:
    """In every NLU file (one per language), every topic has at least MIN_EXAMPLES examples,
    and every topic intent has a topic file; raises DataFileError saying which file and topic
    lack what."""
    paths = nlu_files() if files is None else [files] if isinstance(files, Path) else files
    knowledge = read_knowledge_files(directory, seeds_dir=None, languages=())
    topics = sorted(knowledge.topics)
    answered = []  # topics whose questions are their own (not sent on to another topic)
    for topic in topics:
        target = knowledge.topics[topic].get("questions_go_to")
        if target is None:
            answered.append(topic)
        else:
            _check_redirect(directory / "topics" / f"{topic}.yml", topic, target, knowledge.topics)
    for nlu_file in paths:
        counts = Counter(intent for intent, _ in read_nlu_examples(nlu_file))
        for topic in answered:
            have = counts.get(topic_intent(topic), 0)
            if have < MIN_EXAMPLES:
                raise DataFileError(
                    nlu_file,
                    f"topic '{topic}' needs at least {MIN_EXAMPLES} examples under intent "
                    f"'{topic_intent(topic)}' (has {have})",
                    topic_intent(topic),
                )
        orphans = sorted(  # an intent whose topic file was removed
            i for i in counts if (t := topic_of_intent(i)) is not None and t not in set(topics)
        )
        if orphans:
            raise DataFileError(
                nlu_file,
                f"intent(s) {', '.join(orphans)} have no topic file in {TOPICS_SOURCE}",
                orphans[0],
            )


def _check_redirect(path: Path, topic: str, target: str, topics: dict[str, dict]) -> None:
    if target not in topics or topics[target].get("questions_go_to"):
        raise DataFileError(path, f"questions_go_to '{target}' is not a topic with examples", topic)
    if topic not in topics[target].get("related", ()):
        raise DataFileError(
            path,
            f"questions go to '{target}', so '{target}' must list '{topic}' under related",
            topic,
        )
