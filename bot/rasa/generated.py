"""Blocks of Rasa's files written from the clinic's data, so each fact has one source.

A block sits between a BEGIN and an END marker line in domain.yml or data/rules.yml.
`python -m bot domain` rewrites every block; `python -m bot check` fails while one differs.
Everything outside the markers is hand-written and left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.datafiles import DataFileError


@dataclass(frozen=True)
class GeneratedBlock:
    """`render()` gives the YAML lines between the markers (already indented)."""

    path: Path
    source: str  # what the block is generated from, named in the BEGIN marker
    indent: str
    render: Callable[[], str]

    @property
    def begin(self) -> str:
        return f"{self.indent}# BEGIN generated from {self.source} by `python -m bot domain`"

    @property
    def end(self) -> str:
        return f"{self.indent}# END generated from {self.source}"

    def _split(self, text: str) -> tuple[str, str, str]:
        if f"\n{self.begin}\n" not in f"\n{text}" or f"\n{self.end}\n" not in f"\n{text}":
            raise DataFileError(self.path, f"the block generated from {self.source} is missing")
        head, rest = text.split(self.begin + "\n", 1)
        block, tail = rest.split(self.end + "\n", 1)
        return head, block, tail

    def check(self) -> None:
        """Raise DataFileError when the file's block differs from what the data gives."""
        _, block, _ = self._split(self.path.read_text(encoding="utf-8"))
        if block != self.render():
            raise DataFileError(
                self.path,
                f"differs from {self.source}: run `python -m bot domain` (then retrain)",
            )

    def write(self) -> bool:
        """Rewrite the block; True when the file changed."""
        text = self.path.read_text(encoding="utf-8")
        head, block, tail = self._split(text)
        fresh = self.render()
        if block == fresh:
            return False
        self.path.write_text(f"{head}{self.begin}\n{fresh}{self.end}\n{tail}", encoding="utf-8")
        return True


def yaml_lines(data: Any, indent: str) -> str:
    """`data` as block YAML, every line indented by `indent`, ending in a newline."""
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100, indent=2)
    return "".join(f"{indent}{line}\n" if line else "\n" for line in body.splitlines())
