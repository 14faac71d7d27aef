"""deploy/docker/Dockerfile and .dockerignore, checked against the code (no Docker here)."""

from __future__ import annotations

import re

import pytest

from bot.container import container_stack
from bot.paths import PROJECT_ROOT
from tests.deploy.files import (
    DOCKERFILE,
    copy_sources,
    dockerfile,
    dockerignore_allows,
    exists_or_pending,
    inherited,
    parse_dockerfile,
)

PROGRAMS = {p.name: p for p in container_stack({}).programs()}
PART_TARGETS = sorted(PROGRAMS)  # one target per program of the stack: actions, rasa, web, worker


def test_the_dockerfile_parses_into_the_expected_targets() -> None:
    _, stages = dockerfile()
    assert set(stages) >= {"deps", "app", "stack", *PART_TARGETS}
    assert set(PART_TARGETS) == {"actions", "rasa", "web", "worker"}


def test_the_parser_rejects_what_docker_would() -> None:
    with pytest.raises(ValueError, match="unknown instruction"):
        parse_dockerfile("FROM python:3.10-slim\nCOPPY a b\n")
    with pytest.raises(ValueError, match="before the first FROM"):
        parse_dockerfile("RUN true\nFROM python:3.10-slim\n")
    with pytest.raises(ValueError, match="continued line"):
        parse_dockerfile("FROM python:3.10-slim\nRUN true \\\n")


def test_python_310_slim_base_and_the_makefiles_uv() -> None:
    global_args, stages = dockerfile()
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert global_args["UV_VERSION"] == re.search(r"^UV_VERSION := (\S+)", makefile, re.M)[1]
    assert re.fullmatch(r"python:3\.10(\.\d+)?-slim(-\w+)?", global_args["PYTHON_IMAGE"])
    for name in ("deps", "app"):
        assert stages[name].base == "${PYTHON_IMAGE}"
    runs = " ".join(i.args for i in stages["deps"].find("RUN"))
    assert "uv sync --frozen --no-dev" in runs


def test_every_part_runs_as_a_non_root_user() -> None:
    for target in ["stack", *PART_TARGETS]:
        user = inherited(target, "USER")
        assert user is not None and user.args not in ("root", "0"), target


def test_every_copied_file_exists_and_passes_the_dockerignore() -> None:
    _, stages = dockerfile()
    sources = [s for stage in stages.values() for s in copy_sources(stage)]
    assert "models/current.tar.gz" in sources and "models/triage_detector.joblib" in sources
    for source in sources:
        assert exists_or_pending(source.rstrip("/")), f"{DOCKERFILE}: COPY {source}: no such file"
        assert dockerignore_allows(source), f".dockerignore leaves out {source}"


def test_the_build_context_holds_no_patient_data_or_tooling() -> None:
    for path in ("var/meso.db", "var/spool/reports.jsonl", "var/logs/rasa.log", ".venv/bin",
                 "tests/conftest.py", "results/core", ".git/HEAD", "models/old.tar.gz",
                 "bot/__pycache__/serve.cpython-310.pyc", "bench/results/x.json"):  # fmt: skip
        assert not dockerignore_allows(path), path
    _, stages = dockerfile()
    sources = [s for stage in stages.values() for s in copy_sources(stage)]
    assert not [s for s in sources if s.startswith(("var", "tests", ".")) or s == "./"]


@pytest.mark.parametrize("target", PART_TARGETS)
def test_each_part_runs_its_stack_program_and_checks_its_ready_path(target: str) -> None:
    cmd = inherited(target, "CMD")
    assert cmd is not None and cmd.exec_form() == ["python", "-m", "bot.container", target]
    health = inherited(target, "HEALTHCHECK")
    assert health is not None
    assert health.exec_form() == ["python", "-m", "bot.container", "--health", target]


def test_the_stack_target_runs_the_embedded_default_and_checks_every_part() -> None:
    assert inherited("stack", "CMD").exec_form() == ["python", "-m", "bot", "serve"]
    health = inherited("stack", "HEALTHCHECK").exec_form()
    assert health[:4] == ["python", "-m", "bot.container", "--health"]
    assert sorted(health[4:]) == sorted(PROGRAMS)
