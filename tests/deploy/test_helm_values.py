"""deploy/helm/rasa-values.yaml against Rasa's Helm chart (RasaHQ/helm-charts, charts/rasa 1.17.8
and charts/rasa-action-server 1.0.9 at 94fba4b4a18b2ca79b1e90783f244c3f4901273e), which is not
in this repository and cannot be rendered here (no helm binary): every key must be one read in
the chart's templates at that commit (CHART_KEYS cites where), and the image, command, ports,
probes and channel settings must agree with the Dockerfile, compose and the code."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import pytest
import yaml

from bot.channels.whatsapp.settings import PSEUDONYM_KEY_ENV, REQUIRED
from bot.container import container_stack
from bot.paths import PROJECT_ROOT
from bot.serve import runtime_credentials
from tests.deploy.files import compose, dockerfile, helm_values, inherited

A = "rasa-action-server"
# Keys read by the chart's templates. A key ending in "/*" is rendered whole (toYaml, or range
# over its keys) so anything below it is passed through. Paths are charts/rasa/templates/ unless
# they name the action server's chart or rasa-common.
CHART_KEYS = {
    "replicaCount": "deployment.yaml: spec.replicas",
    "image/repository": "rasa-common/templates/_images.tpl: rasa-common.images.image",
    "image/tag": "rasa-common/templates/_images.tpl: rasa-common.images.image",
    "image/pullPolicy": "deployment.yaml: imagePullPolicy",
    "command/*": "deployment.yaml: `command` of container rasa-oss",
    "args/*": "deployment.yaml: `args` (replaces the default `run --enable-api …`)",
    "extraEnv/*": "_containers-env.yaml: rasa.containers.env",
    "initContainers/*": "deployment.yaml: initContainers",
    "volumes/*": "deployment.yaml: volumes",
    "volumeMounts/*": "deployment.yaml: volumeMounts of rasa-oss",
    "podSecurityContext/*": "deployment.yaml: spec.securityContext",
    "readinessProbe/*": "deployment.yaml: readinessProbe",
    "livenessProbe/*": "deployment.yaml: livenessProbe",
    "service/type": "service.yaml",
    "service/port": "service.yaml",
    "nginx/enabled": "_nginx-sidecar-container.yaml: rasa.nginx.sidecar",
    "ingress/enabled": "ingress.yaml",
    "ingress/hostname": "ingress.yaml",
    "ingress/path": "ingress.yaml",
    "ingress/pathType": "ingress.yaml",
    "ingress/annotations/*": "ingress.yaml: metadata.annotations",
    "applicationSettings/port": "deployment.yaml: containerPort",
    "applicationSettings/initialModel": "helpers/_helpers.tpl: rasa.initialModel.download",
    "applicationSettings/trainInitialModel": "helpers/_helpers.tpl: rasa.initialModel.train",
    "applicationSettings/enableAPI": "helpers/_helpers.tpl: rasa.rasa.server.type",
    "applicationSettings/telemetry/enabled": "_containers-env.yaml: RASA_TELEMETRY_ENABLED",
    "applicationSettings/credentials/enabled": "helpers/_helpers.tpl: rasa.credentials.enabled",
    "applicationSettings/credentials/additionalChannelCredentials/*": "config-map.yaml",
    "applicationSettings/endpoints/trackerStore/*": "config-map.yaml: tracker_store (range)",
    "applicationSettings/endpoints/lockStore/*": "config-map.yaml: lock_store (range)",
    "applicationSettings/endpoints/action/endpointURL": "helpers/_action-server.tpl",
    "global/postgresql/postgresqlUsername": "rasa-common/templates/_postgresql.tpl",
    "global/postgresql/postgresqlDatabase": "rasa-common/templates/_postgresql.tpl",
    "global/postgresql/existingSecret": "rasa-common/templates/_postgresql.tpl",
    "global/postgresql/servicePort": "rasa-common/templates/_postgresql.tpl",
    "postgresql/install": "Chart.yaml condition; rasa-common _postgresql.tpl",
    "postgresql/existingSecretKey": "rasa-common/templates/_postgresql.tpl",
    "postgresql/external/enabled": "rasa-common/templates/_postgresql.tpl",
    "postgresql/external/host": "rasa-common/templates/_postgresql.tpl",
    "redis/install": "Chart.yaml condition; rasa-common _redis.tpl",
    "redis/existingSecret": "rasa-common/templates/_redis.tpl",
    "redis/existingSecretPasswordKey": "rasa-common/templates/_redis.tpl",
    "redis/master/service/port": "rasa-common/templates/_redis.tpl: rasa-common.redis.port",
    "redis/external/enabled": "rasa-common/templates/_redis.tpl",
    "redis/external/host": "rasa-common/templates/_redis.tpl",
    "rabbitmq/install": "Chart.yaml condition",
    "duckling/install": "Chart.yaml condition",
    f"{A}/install": "Chart.yaml condition; helpers/_action-server.tpl",
    f"{A}/service/port": "helpers/_action-server.tpl: rasa.actionServer.url",
    f"{A}/replicaCount": "rasa-action-server/templates/deployment.yaml",
    f"{A}/image/repository": "rasa-common/templates/_images.tpl",
    f"{A}/image/tag": "rasa-common/templates/_images.tpl",
    f"{A}/image/pullPolicy": "rasa-action-server/templates/deployment.yaml",
    f"{A}/command/*": "rasa-action-server/templates/deployment.yaml",
    f"{A}/args/*": "rasa-action-server/templates/deployment.yaml",
    f"{A}/applicationSettings/port": "rasa-action-server/templates/deployment.yaml",
    f"{A}/applicationSettings/scheme": "helpers/_action-server.tpl: rasa.actionServer.url",
    f"{A}/podSecurityContext/*": "rasa-action-server/templates/deployment.yaml",
    f"{A}/extraEnv/*": "rasa-action-server/templates/_containers-env.yaml",
    f"{A}/volumes/*": "rasa-action-server/templates/deployment.yaml",
    f"{A}/volumeMounts/*": "rasa-action-server/templates/deployment.yaml",
    f"{A}/readinessProbe/*": "rasa-action-server/templates/deployment.yaml",
    f"{A}/livenessProbe/*": "rasa-action-server/templates/deployment.yaml",
}

VALUES = helm_values()
ACTIONS = VALUES[A]
PROGRAMS = {p.name: p for p in container_stack({}).programs()}
OBSERVABILITY = (
    importlib.import_module("bot.observability.endpoints")
    if importlib.util.find_spec("bot.observability")
    else None
)


def leaf_paths(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in leaf_paths(v, f"{prefix}{k}/")]
    return [prefix.rstrip("/")]


def known(path: str) -> bool:
    if path in CHART_KEYS:
        return True
    parts = path.split("/")
    return any("/".join(parts[:i]) + "/*" in CHART_KEYS for i in range(1, len(parts) + 1))


def test_every_key_is_one_the_chart_reads() -> None:
    unknown = [p for p in leaf_paths(VALUES) if not known(p)]
    assert unknown == []


def test_a_misspelt_key_would_be_caught() -> None:
    assert not known("replicas") and not known("applicationSettings/endpoints/lockstore/type")
    assert known("applicationSettings/endpoints/lockStore/url")


def test_the_chart_version_and_commit_are_recorded() -> None:
    text = (PROJECT_ROOT / "deploy/helm/rasa-values.yaml").read_text(encoding="utf-8")
    assert "version 1.17.8" in text and "94fba4b4a18b2ca79b1e90783f244c3f4901273e" in text


@pytest.mark.parametrize(("values", "target"), [(VALUES, "rasa"), (ACTIONS, "actions")])
def test_images_are_the_dockerfile_targets_compose_builds(values: dict, target: str) -> None:
    assert target in dockerfile()[1]
    assert values["image"]["repository"].endswith(f"/meso-assistant/{target}")
    built = {s["image"] for s in compose()["services"].values() if "build" in s}
    assert f"meso-assistant/{target}" in built


def stack_command(name: str, **fill: str) -> list[str]:
    """Program `name`'s command in the image: `python`, the container's work directory, and the
    replacements in `fill` (ports, the files the chart mounts)."""
    stack = container_stack({"MESO_VAR_DIR": "/app/var"})
    replace = {sys.executable: "python", str(stack.ports_dir): "/app/var/ports", **fill}
    program = next(p for p in stack.programs() if p.name == name)
    return [replace.get(str(a), str(a)) for a in program.command]


def test_rasa_runs_the_stacks_command_with_the_charts_config_files() -> None:
    port = VALUES["applicationSettings"]["port"]
    assert port == container_stack({}).settings.rasa_port
    expected = stack_command(
        "rasa",
        **{
            "{port:rasa}": str(port),
            "/app/var/endpoints.run.yml": "/app/endpoints.yml",  # the chart's ConfigMap mounts
            "/app/var/credentials.run.yml": "/app/credentials.yml",
            str(PROJECT_ROOT / "models/current.tar.gz"): "/app/models/current.tar.gz",
        },
    )
    assert VALUES["command"] + VALUES["args"] == expected


def test_action_servers_run_the_stacks_command_on_its_port() -> None:
    port = ACTIONS["applicationSettings"]["port"]
    assert port == container_stack({}).settings.action_port
    expected = stack_command("actions", **{"{port:actions}": str(port)})
    assert ACTIONS["command"] + ACTIONS["args"] == expected


@pytest.mark.parametrize(("values", "name"), [(VALUES, "rasa"), (ACTIONS, "actions")])
def test_probes_use_the_parts_health_endpoints(values: dict, name: str) -> None:
    if OBSERVABILITY is None:
        pytest.skip("/health/ready and /health/live come with the metrics branch (not merged)")
    assert values["readinessProbe"]["httpGet"]["path"] == OBSERVABILITY.READY_PATH
    assert PROGRAMS[name].ready_path == OBSERVABILITY.READY_PATH  # what Stack waits on
    assert values["livenessProbe"]["httpGet"]["path"] == OBSERVABILITY.LIVE_PATH
    for probe in ("readinessProbe", "livenessProbe"):
        assert values[probe]["httpGet"]["port"] == "http"  # the chart's container port name


def test_the_tracker_and_lock_stores_are_ours_on_postgresql_and_redis() -> None:
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    settings = VALUES["applicationSettings"]["endpoints"]
    tracker = settings["trackerStore"]
    assert tracker["enabled"] and tracker["dialect"] == "postgresql"
    assert tracker["type"] == endpoints["tracker_store"]["type"]
    assert tracker["spool_dir"] == "/app/var/spool"
    lock = settings["lockStore"]
    assert lock["enabled"] and lock["type"] == "redis"
    assert VALUES["postgresql"]["external"]["enabled"] and VALUES["redis"]["external"]["enabled"]
    assert VALUES["replicaCount"] >= 2 and ACTIONS["replicaCount"] >= 2 and ACTIONS["install"]


def test_the_channels_are_those_the_stack_writes() -> None:
    placeholders = {
        name: f"${{{name}}}"
        for name in REQUIRED.values()  # the Graph API URL: the code's default
    }
    credentials, whatsapp = runtime_credentials(placeholders)
    assert whatsapp
    chart = VALUES["applicationSettings"]["credentials"]["additionalChannelCredentials"]
    assert chart == credentials
    env_names = {e["name"] for e in VALUES["extraEnv"]}
    assert set(placeholders) <= env_names
    assert PSEUDONYM_KEY_ENV in env_names  # WhatsApp numbers are pseudonymised with it


def test_every_part_gets_the_contracts_settings_and_the_spool() -> None:
    for values in (VALUES, ACTIONS):
        env = {e["name"]: e for e in values["extraEnv"]}
        assert env["MESO_VAR_DIR"]["value"] == "/app/var"
        assert env["MESO_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "meso-assistant"
        mounts = {m["mountPath"]: m["name"] for m in values["volumeMounts"]}
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in values["volumes"]}
        assert claims[mounts["/app/var/spool"]] == "meso-spool"


def test_pods_run_as_the_images_user() -> None:
    runs = " ".join(i.args for i in dockerfile()[1]["app"].find("RUN"))
    assert inherited("rasa", "USER").args == "meso" and "--uid 10001" in runs
    for values in (VALUES, ACTIONS):
        assert values["podSecurityContext"]["runAsUser"] == 10001
        assert values["podSecurityContext"]["runAsNonRoot"] is True


def test_migrations_run_before_rasa_starts() -> None:
    (migrate,) = VALUES["initContainers"]
    assert migrate["command"] == ["python", "-m", "bot", "migrate"]
    assert migrate["image"] == f"{VALUES['image']['repository']}:{VALUES['image']['tag']}"
