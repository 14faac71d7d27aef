"""The one placeholder filler for clinic-editable texts.

A text names values in braces: "call {clinic_name} on {clinic_phone}". Only plain names are
allowed (no `{}`, `{0}`, `{a.b}`, `{x:>5}` or `{x!r}`); `{{` and `}}` write a literal brace.
Each loader checks its file with `check_placeholders` when it is read, so `bot check` fails on a
misspelt name and says which file, which entry and which placeholder.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bot.clinic import ClinicConfig
from bot.datafiles import DataFileError

CLINIC_PLACEHOLDERS = frozenset(
    {"clinic_name", "clinic_phone", "emergency_number", "opening_hours"}
)


class PlaceholderError(ValueError):
    """A text uses a placeholder that is malformed or has no value."""


def placeholders(text: str) -> set[str]:
    """The placeholder names in `text`; raises PlaceholderError for a malformed one."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PlaceholderError(f"broken braces ({exc})") from None
    names = set()
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise PlaceholderError(
                f"placeholder {{{name}}} must be a plain name like {{clinic_phone}}"
            )
        names.add(name)
    return names


def clinic_values(clinic: ClinicConfig) -> dict[str, str]:
    """The clinic's values for the placeholders every text may use."""
    return {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "emergency_number": clinic.emergency_number,
        "opening_hours": clinic.opening_hours,
    }


def fill(text: str, clinic: ClinicConfig, **extra: str) -> str:
    """`text` with the clinic's values and `extra` put in; raises PlaceholderError naming a
    placeholder that has no value (a text that passed `check_placeholders` never does)."""
    values = {**clinic_values(clinic), **extra}
    missing = placeholders(text) - values.keys()
    if missing:
        raise PlaceholderError(f"no value for {', '.join(f'{{{m}}}' for m in sorted(missing))}")
    return text.format_map(values)


AllowedAt = Callable[[tuple[str, ...]], Iterable[str]]


def clinic_only(_at: tuple[str, ...]) -> Iterable[str]:
    return CLINIC_PLACEHOLDERS


def check_placeholders(
    path: Path, data: Any, allowed: AllowedAt = clinic_only, skip: frozenset[str] = frozenset()
) -> None:
    """Check every string in `data` (a loaded YAML file): each placeholder must be well formed
    and allowed at its key path (`allowed(path_tuple)`). Keys in `skip` hold no texts (e.g.
    button payloads). Raises DataFileError naming the file, the entry and the placeholder."""
    for at, text in _strings(data, ()):
        if at and at[-1] in skip:
            continue
        entry = "/".join(at)
        try:
            names = placeholders(text)
        except PlaceholderError as exc:
            raise DataFileError(path, str(exc), entry) from None
        permitted = set(allowed(at))
        unknown = sorted(names - permitted)
        if unknown:
            raise DataFileError(
                path,
                f"unknown placeholder {', '.join(f'{{{u}}}' for u in unknown)}; "
                f"allowed here: {', '.join(f'{{{p}}}' for p in sorted(permitted)) or 'none'}",
                entry,
            )


def _strings(node: Any, at: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(value, (*at, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*at, str(index)))
    elif isinstance(node, str):
        yield at, node
