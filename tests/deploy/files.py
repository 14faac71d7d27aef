"""Reading the deployment files for their tests: the Dockerfile (a small parser of the
instructions the tests look at), the compose file, the Helm values and the .dockerignore."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.paths import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "compose.yml"
HELM_VALUES = DEPLOY / "helm" / "rasa-values.yaml"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
# Committed on the cluster branch (deploy/nginx/meso.conf.j2 and its renderer); absent until merge.
CLUSTER_NGINX_FILES = {"deploy/nginx/meso.conf.j2"}


@dataclass
class Instruction:
    keyword: str  # upper case
    args: str  # the rest of the (joined) line
    line: int

    def exec_form(self) -> list[str]:
        """The JSON array of CMD/HEALTHCHECK CMD/ENTRYPOINT; raises ValueError for shell form."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = re.sub(r"^(--\S+\s+)*CMD\s+", "", text)
        value = json.loads(text)
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError(f"line {self.line}: not an exec-form array: {self.args}")
        return value


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def find(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


KEYWORDS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(the ARGs before the first FROM with their defaults, the stages). Comments and line
    continuations are handled; an unknown instruction raises ValueError."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        line, pending = " ".join(p for p in pending if p), []
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword not in KEYWORDS:
            raise ValueError(f"line {start}: unknown instruction {keyword}")
        instruction = Instruction(keyword, args.strip(), start)
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(name, words[0]))
        elif not stages:
            if keyword != "ARG":
                raise ValueError(f"line {start}: {keyword} before the first FROM")
            key, _, default = args.partition("=")
            global_args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append(instruction)
    if pending:
        raise ValueError("the Dockerfile ends inside a continued line")
    return global_args, stages


@cache
def dockerfile() -> tuple[dict[str, str], dict[str, Stage]]:
    global_args, stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    return global_args, {s.name or f"#{i}": s for i, s in enumerate(stages)}


def stage_chain(name: str) -> list[Stage]:
    """Stage `name` and the stages it is built FROM, the stage itself first."""
    stages = dockerfile()[1]
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def inherited(name: str, keyword: str) -> Instruction | None:
    """The `keyword` instruction in effect for target `name` (the last one along its chain)."""
    for stage in stage_chain(name):
        found = stage.find(keyword)
        if found:
            return found[-1]
    return None


def copy_sources(stage: Stage) -> list[str]:
    """The build-context paths stage `stage` COPYs (not those copied --from another stage)."""
    sources: list[str] = []
    for instruction in stage.find("COPY"):
        words = shlex.split(instruction.args)
        if any(w.startswith("--from=") for w in words):
            continue
        sources += [w for w in words if not w.startswith("--")][:-1]
    return sources


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@cache
def helm_values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))


def dockerignore_allows(path: str) -> bool:
    """Whether .dockerignore lets `path` (relative, '/'-separated) into the build context:
    Docker's rule, the last matching pattern wins, '!' re-includes. Patterns here are literal
    paths, a directory (trailing '/': everything under it), '*' or '**/<glob>'."""
    allowed = True
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if _matches(pattern, path.rstrip("/")):
            allowed = include
    return allowed


def _matches(pattern: str, path: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("**/"):
        return any(Path(part).match(pattern[3:]) for part in path.split("/"))
    return path == pattern or path.startswith(pattern + "/")


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def target_of(service: dict[str, Any]) -> str | None:
    build = service.get("build")
    return build.get("target") if isinstance(build, dict) else None


def repo_path(relative: str) -> Path:
    return PROJECT_ROOT / relative


def exists_or_pending(relative: str) -> bool:
    """True when the file exists, or is one the cluster branch brings and it is not merged."""
    if repo_path(relative).exists():
        return True
    return relative in CLUSTER_NGINX_FILES and not (PROJECT_ROOT / "bot/cluster/nginx.py").exists()


INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """`value` with compose's ${VAR}, ${VAR:-default} and ${VAR:?error} filled from `env`.
    Raises KeyError naming a required variable that `env` lacks."""

    def fill(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        value = env.get(name)
        if value is not None and (value or ":" not in kind):  # ':' also replaces an empty value
            return value
        if kind.endswith("?"):
            raise KeyError(f"{name}: {rest}")
        return rest if kind.endswith("-") else ""

    return INTERPOLATION.sub(fill, value)
