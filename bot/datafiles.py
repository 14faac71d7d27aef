"""Reading clinic-editable YAML data files with a JSON-Schema check.

Every error names the file and, where it can, the entry, so a clinic editor knows what to fix.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

# libyaml's loader builds the same Python objects as PyYAML's pure-Python SafeLoader about ten
# times faster (the triage data files took ~4 s of Rasa's start with the pure-Python one);
# tests/knowledge/test_yaml_loader.py checks both load every YAML file of the repository the
# same way.
SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: Any) -> Any:
    """`yaml.safe_load` with libyaml's loader where PyYAML has it."""
    return yaml.load(stream, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


class DataFileError(ValueError):
    """A data file is missing, is not valid YAML, or does not match its schema."""

    def __init__(self, file: Path | str, message: str, entry: str | None = None) -> None:
        self.file = str(file)
        self.entry = entry
        where = f"{file}" + (f", entry '{entry}'" if entry else "")
        super().__init__(f"{where}: {message}")


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema `bot/schemas/<name>.yml`."""
    with open(SCHEMA_DIR / f"{name}.yml", encoding="utf-8") as fh:
        return safe_load(fh)


class _DataFileLoader(SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key written twice in one mapping: YAML keeps the last and
    silently drops the first, so a second `patterns:` under one concept once hid the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> Any:
    """A data file's content; DataFileError when it is missing, not YAML, or repeats a key."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_DataFileLoader)  # noqa: S506 - a safe loader
    except FileNotFoundError as exc:
        raise DataFileError(path, "file not found") from exc
    except yaml.YAMLError as exc:
        raise DataFileError(path, f"not valid YAML: {exc}") from exc


def check(data: Any, schema_name: str, path: Path, entry: str | None = None) -> Any:
    """Validate `data` against a named schema; raise DataFileError naming file and entry."""
    validator = jsonschema.Draft7Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.path)
        raise DataFileError(path, f"{first.message}" + (f" (at {at})" if at else ""), entry)
    return data


ENGLISH = "en"  # the language of a data file whose name carries none


def language_variant(path: Path, lang: str) -> Path:
    """The file of `lang` beside an English data file: data/replies.yml for English,
    data/replies.hi.yml for Hindi."""
    return path if lang == ENGLISH else path.with_name(f"{path.stem}.{lang}{path.suffix}")


_NLU_EXAMPLE = re.compile(r"^\s*-\s+(.*\S)\s*$")
_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def read_nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, example text) for every example of a Rasa NLU YAML file, entity markup removed
    ("[face](area)" reads "face"); blocks without an intent (synonyms, lookups) are skipped."""
    data = read_yaml(path) or {}
    return [
        (str(block["intent"]), _ENTITY_MARKUP.sub(r"\1", match[1]))
        for block in data.get("nlu") or ()
        if isinstance(block, dict) and "intent" in block
        for line in str(block.get("examples") or "").splitlines()
        if (match := _NLU_EXAMPLE.match(line))
    ]


def load_checked(path: Path, schema_name: str, entry: str | None = None) -> Any:
    """Read a YAML file and validate it against `bot/schemas/<schema_name>.yml`."""
    return check(read_yaml(path), schema_name, path, entry)
