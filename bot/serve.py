"""Start the whole assistant under supervisord: action server, Rasa server, web server and
notification worker.

`Stack` is used both by `make run` (`python -m bot serve`) and by the end-to-end tests, so the
way the system is started is written once. `start()` writes, under the work directory, runtime
copies of endpoints.yml and credentials.yml (with the chosen ports and databases) and
`supervisord.conf`, then runs supervisord in the foreground (nodaemon) as its child.

Ports: with a port of 0 in StackSettings (what the tests use) a program binds any free port and
`Stack` reads back which one it listens on (psutil), so nothing picks a port and releases it for
someone else to take. Every serving program runs through bot/launch.py, which takes its port from
`<work_dir>/ports/<name>.port`: `Stack` writes fixed ports there before starting and discovered
ones as soon as they are known, and a program restarted by supervisor comes back on the same port
(if something else took it meanwhile, the bind fails and supervisor retries with its backoff).
Programs are therefore started by `Stack`, over supervisor's XML-RPC, in dependency order: the
action server first (Rasa's endpoints file holds its URL), then Rasa (the web server is given
Rasa's URL), then the web server and the worker. This order costs no start-up time: a serving
program on port 0 listens before its slow imports (bot/launch.py), so all of them load in
parallel. `make run` keeps the fixed, documented ports.

Profiles: `Stack` is the embedded profile (`make run`: SQLite, one Rasa). Another profile lists
other programs by overriding `programs()` and a few hooks, and keeps everything else here: the
cluster profile (bot/cluster/stack.py, `make run-cluster`) adds `service` programs (PostgreSQL,
Redis), which start first and must be ready before `prepare_storage()`, the one step where every
profile prepares the project's schema before the other programs start.

Restarts are supervisor's own: every program has `autorestart=true`. A program that exits after
running at least STARTSECS is started again at once; one that exits sooner is retried after 1 s,
then 2 s, 3 s, … (supervisor's linear backoff) and given up (state FATAL) after STARTRETRIES quick
exits in a row. Stopping sends SIGTERM to a program's whole process group and SIGKILL after
STOPWAITSECS. A program that runs but stops answering /health/live is killed by `make run`'s
`LivenessWatch`, so that supervisor restarts it too. Every serving program answers /health/live,
/health/ready and /metrics on its port (bot/observability). A running stack can be inspected with
`.venv/bin/supervisorctl -c var/supervisord.conf status`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from supervisor.xmlrpc import Faults as xmlrpc_faults
from supervisor.xmlrpc import SupervisorTransport

from bot.datafiles import safe_load
from bot.launch import write_port
from bot.observability.endpoints import LIVE_PATH, READY_PATH
from bot.paths import PROJECT_ROOT, VAR_DIR
from bot.readiness import endpoint_ready, listening_ports, wait_until
from bot.tickets.notify.worker import PORT_ENV as WORKER_PORT_ENV

WHATSAPP_CHANNEL = "bot.rasa.channels.whatsapp.WhatsAppInput"
SOCKETIO_CHANNEL = "bot.rasa.channels.socketio.MesoSocketIOInput"
REST_CHANNEL = "bot.rasa.channels.rest.MesoRestInput"  # at /webhooks/rest/, like Rasa's `rest`
API_TOKEN_ENV = "MESO_RASA_API_TOKEN"

STARTSECS = 10  # a program must stay up this long to count as started
STARTRETRIES = 20  # quick exits in a row before supervisor gives up (1 s, 2 s, … 20 s apart)
STOPWAITSECS = 15  # SIGTERM to the process group, then SIGKILL after this long
GROUP = "meso"  # one supervisor group, so that stopping stops every program at once
LIVENESS_EVERY = 10.0  # s between `make run`'s liveness checks of every serving program
LIVENESS_TIMEOUT = 5.0  # s a program has to answer LIVE_PATH
LIVENESS_MISSES = 3  # unanswered checks in a row before a running program counts as hung
LOG_MAXBYTES = "10MB"
LOG_BACKUPS = 3

# supervisord not (yet) answering, or a connection left mid-request by an interrupted call
RPC_ERRORS = (OSError, xmlrpc.client.ProtocolError, http.client.HTTPException)


def port_in_use(port: int) -> bool:
    """True when something listens on `port` (on any address) so a server could not bind it."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


@dataclass
class StackSettings:
    """What to start where. A port of 0: any free port, found once the program listens."""

    work_dir: Path = VAR_DIR
    model: Path = PROJECT_ROOT / "models" / "current.tar.gz"
    rasa_port: int = 5005
    action_port: int = 5055
    web_port: int = 8080
    worker_port: int = 9105  # the worker's health and metrics endpoints
    database_url: str | None = None  # default: sqlite file in work_dir
    with_web: bool = True
    with_worker: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None  # default: work_dir/logs

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.work_dir / 'meso.db'}"


@dataclass(frozen=True)
class FromEnv:
    """A command-line argument supervisord fills in from its environment, so that it is not
    written to disk; the value must be one shell word (no spaces or quotes)."""

    name: str


@dataclass(frozen=True)
class Program:
    """One supervised program. One that serves listens on the port recorded under its name and
    is ready once `ready_path` there answers 200 (bot/observability/endpoints.py) (or, for a
    server that does not speak HTTP, once `ready_check(port)` is true); it is started only after
    the programs in `needs` listen (their ports are in its command or configuration).

    A `service` (a database, a lock store) is started before every other program, and the others
    only once every service is ready and the storage is prepared (`Stack.prepare_storage`).
    `user`: the OS user supervisor runs it as (PostgreSQL refuses root); `stop_signal`: what
    stops it cleanly (PostgreSQL: INT, a fast shutdown that does not wait for clients)."""

    name: str
    label: str
    command: list[str | FromEnv]
    ready_path: str | None = None
    needs: tuple[str, ...] = ()
    ready_check: Callable[[int], bool] | None = None
    service: bool = False
    user: str | None = None
    stop_signal: str = "TERM"

    @property
    def probed(self) -> bool:
        """True when the program serves and has a readiness check."""
        return self.ready_path is not None or self.ready_check is not None


@dataclass(frozen=True)
class ProgramState:
    """What supervisor reports about a program; `pid` is 0 when it is not running."""

    name: str
    state: str  # STARTING, RUNNING, BACKOFF, STOPPING, STOPPED, EXITED, FATAL or UNKNOWN
    pid: int
    description: str


def runtime_credentials(env: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """credentials.yml with the WhatsApp channel kept only when its variables are set.

    Raises WhatsAppConfigError naming the missing variables when only some are set.
    """
    from bot.channels.whatsapp.settings import resolve_settings

    with open(PROJECT_ROOT / "credentials.yml", encoding="utf-8") as fh:
        # Parsed without Rasa's ${VAR} expansion; the WhatsApp block is rebuilt from the env.
        credentials = safe_load(fh) or {}
    whatsapp = resolve_settings(None, env)
    credentials.pop(WHATSAPP_CHANNEL, None)
    if whatsapp is not None:
        credentials[WHATSAPP_CHANNEL] = {
            "verify_token": whatsapp.verify_token,
            "app_secret": whatsapp.app_secret,
            "access_token": whatsapp.access_token,
            "phone_number_id": whatsapp.phone_number_id,
            "graph_url": whatsapp.graph_url,
        }
    credentials.pop("rest", None)  # Rasa's own would take the same URL and split replies
    credentials.setdefault(REST_CHANNEL, None)
    credentials[SOCKETIO_CHANNEL] = {
        **(credentials.get(SOCKETIO_CHANNEL) or {}),
        "session_persistence": True,
    }
    return credentials, whatsapp is not None


def runtime_endpoints(
    settings: StackSettings, action_url: str, tracker_url: str | None
) -> dict[str, Any]:
    """endpoints.yml with the action server at `action_url` and the tracker store at
    `tracker_url` (a full SQLAlchemy URL; None: an SQLite file in the work dir)."""
    with open(PROJECT_ROOT / "endpoints.yml", encoding="utf-8") as fh:
        endpoints = safe_load(fh)
    endpoints["action_endpoint"] = {"url": f"{action_url}/webhook"}
    store = endpoints["tracker_store"]
    if tracker_url:
        for key in ("dialect", "db"):
            store.pop(key, None)
        # A full SQLAlchemy URL, e.g. postgresql://…; Rasa passes `url` to a custom store as host.
        store["url"] = tracker_url
    else:
        store["db"] = str(settings.work_dir / "rasa_tracker.db")
    store["spool_dir"] = str(settings.work_dir / "spool")
    return endpoints


def _conf(value: object) -> str:
    """`value` for supervisord.conf, which expands %(…)s and cuts inline ' ;' / ' #' comments."""
    text = str(value)
    if "\n" in text or " ;" in text or " #" in text:
        raise ValueError(f"cannot write {text!r} into supervisord.conf")
    return text.replace("%", "%%")


def _conf_command(args: list[str | FromEnv]) -> str:
    return " ".join(
        f"%(ENV_{arg.name})s" if isinstance(arg, FromEnv) else _conf(shlex.quote(arg))
        for arg in args
    )


def _conf_environment(env: dict[str, str]) -> str:
    for key, value in env.items():
        if '"' in value:
            raise ValueError(f"cannot write {key}={value!r} into supervisord.conf")
    return ",".join(f'{key}="{_conf(value)}"' for key, value in env.items())


def mask_url(url: str) -> str:
    """`url` with any password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def first_line(error: BaseException) -> str:
    """The first non-empty line of `error`'s message (drivers add pages of context)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Stack:
    """The running system under one supervisord. Use as a context manager; `start()` returns
    once every part answers, `stop()` stops supervisord and with it every program."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.whatsapp_enabled = False
        self.ready_seconds: float | None = None
        self._supervisord: subprocess.Popen | None = None
        self._transport: SupervisorTransport | None = None
        self._proxy: xmlrpc.client.ServerProxy | None = None
        self.ports: dict[str, int] = {}  # by program name, once fixed or found

    def _setting_ports(self) -> dict[str, int]:
        """The ports asked for, by program name (0: any free port)."""
        s = self.settings
        return {
            "actions": s.action_port,
            "rasa": s.rasa_port,
            "web": s.web_port,
            "worker": s.worker_port,
        }

    def port(self, name: str) -> int:
        """The port program `name` listens on. Raises RuntimeError before it is known."""
        if name not in self.ports:
            raise RuntimeError(f"the {name} port is not known yet (start the stack first)")
        return self.ports[name]

    @property
    def rasa_url(self) -> str:
        """Where clients reach Rasa's channels (REST, socket.io, WhatsApp)."""
        return f"http://127.0.0.1:{self.port('rasa')}"

    @property
    def public_url(self) -> str:
        """The one URL clients use: Rasa itself here, nginx in the cluster profile."""
        return self.rasa_url

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.port('actions')}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port('web')}"

    @property
    def ports_dir(self) -> Path:
        return self.settings.work_dir / "ports"

    @property
    def database_url(self) -> str:
        """MESO_DATABASE_URL of every program: the project's own tables."""
        return self.settings.db_url

    @property
    def tracker_url(self) -> str | None:
        """MESO_TRACKER_URL: Rasa's tracker store (None: an SQLite file in the work dir)."""
        return self.env_setting("MESO_TRACKER_URL")

    def env_setting(self, name: str) -> str | None:
        """A setting from extra_env, else from the caller's environment (None when unset)."""
        return self.settings.extra_env.get(name) or os.environ.get(name) or None

    @property
    def var_dir(self) -> Path:
        return self.settings.work_dir

    @property
    def log_dir(self) -> Path:
        return self.settings.log_dir or self.settings.work_dir / "logs"

    @property
    def config_path(self) -> Path:
        return self.settings.work_dir / "supervisord.conf"

    @property
    def socket_path(self) -> Path:
        """supervisord's unix socket: in the work dir unless that path is too long for AF_UNIX."""
        path = self.settings.work_dir.resolve() / "supervisord.sock"
        if len(str(path)) <= 100:
            return path
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"meso-supervisord-{digest}.sock"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def stack_env(self) -> dict[str, str]:
        """The variables the stack sets for every program (written into supervisord.conf)."""
        return {
            "PYTHONPATH": str(PROJECT_ROOT),
            "MESO_DATABASE_URL": self.settings.db_url,
            "MESO_VAR_DIR": str(self.settings.work_dir),
            "TF_CPP_MIN_LOG_LEVEL": self.settings.extra_env.get(
                "TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")
            ),
        }

    def env(self) -> dict[str, str]:
        """Everything a program sees: the caller's environment, extra_env, then stack_env()."""
        return {**os.environ, **self.settings.extra_env, **self.stack_env()}

    def _api_args(self) -> list[str]:
        """Rasa's HTTP API exposes every conversation: on only with MESO_RASA_API_TOKEN set."""
        token = self.env().get(API_TOKEN_ENV)
        return ["--enable-api", "--auth-token", token] if token else []

    def _launch(self, name: str, *options: str) -> list[str | FromEnv]:
        """The start of a serving program's command: bot/launch.py with its port file."""
        return [sys.executable, "-m", "bot.launch", str(self.ports_dir), name, *options]

    def actions_program(self, name: str = "actions", label: str = "action server") -> Program:
        return Program(
            name,
            label,
            self._launch(name, "--sanic", "--", "rasa", "run", "actions")
            + ["--actions", "actions", "--port", f"{{port:{name}}}"],
            READY_PATH,
        )

    def rasa_program(
        self,
        name: str = "rasa",
        label: str = "Rasa",
        needs: tuple[str, ...] = ("actions",),
        env: dict[str, str] | None = None,
    ) -> Program:
        """A Rasa server on the port recorded as `name`, with the runtime endpoints and
        credentials; `env` is set for it alone."""
        work = self.settings.work_dir
        # The token reaches Rasa's command line through supervisord's environment, not the file.
        api = ["--enable-api", "--auth-token", FromEnv(API_TOKEN_ENV)] if self._api_args() else []
        options = [arg for key, value in (env or {}).items() for arg in ("--env", f"{key}={value}")]
        return Program(
            name,
            label,
            self._launch(name, "--sanic", *options, "--", "bot.rasa.cli", "run")
            + ["--model", str(self.settings.model), "--port", f"{{port:{name}}}", "--cors", "*"]
            + ["--endpoints", str(work / "endpoints.run.yml")]
            + ["--credentials", str(work / "credentials.run.yml"), *api],
            READY_PATH,
            needs=needs,
        )

    def web_program(self, rasa: str = "rasa") -> Program:
        """The web server, pointing the widget and the kiosk at program `rasa`'s port."""
        web_env = ["--env", "MESO_WEB_PORT={port:web}"]
        web_env += ["--env", f"MESO_RASA_URL=http://localhost:{{port:{rasa}}}"]
        return Program(
            "web",
            "web server",
            self._launch("web", *web_env, "--", "bot", "web"),
            READY_PATH,
            (rasa,),
        )

    def worker_program(self) -> Program:
        """The notification worker; it serves its health and metrics endpoints on `worker`."""
        worker_env = ["--env", f"{WORKER_PORT_ENV}={{port:worker}}"]
        return Program(
            "worker",
            "notification worker",
            self._launch("worker", *worker_env, "--", "bot", "worker"),
            READY_PATH,
        )

    def programs(self) -> list[Program]:
        """The supervised programs, in start order."""
        programs = [self.actions_program(), self.rasa_program()]
        if self.settings.with_web:
            programs.append(self.web_program())
        if self.settings.with_worker:
            programs.append(self.worker_program())
        return programs

    def write_runtime_files(self) -> Path:
        """credentials.run.yml (endpoints.run.yml follows once the action server's port is known)
        and the port files of fixed ports; port files of port-0 programs are removed."""
        work = self.settings.work_dir
        work.mkdir(parents=True, exist_ok=True)
        credentials, self.whatsapp_enabled = runtime_credentials(self.env())
        credentials_path = work / "credentials.run.yml"
        credentials_path.write_text(yaml.safe_dump(credentials, sort_keys=False))
        self.ports = {}
        for name, port in self._setting_ports().items():
            (self.ports_dir / f"{name}.port").unlink(missing_ok=True)
            if port:
                write_port(self.ports_dir, name, port)
                self.ports[name] = port
        return credentials_path

    def endpoints(self) -> dict[str, Any]:
        """Rasa's endpoints: the action server (its port known by now) and the tracker store."""
        return runtime_endpoints(self.settings, self.action_url, self.tracker_url)

    def write_endpoints(self) -> Path:
        """endpoints.run.yml, pointing Rasa at the action server's (known) port."""
        endpoints = self.endpoints()
        path = self.settings.work_dir / "endpoints.run.yml"
        path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
        return path

    def supervisor_config(self) -> str:
        """supervisord.conf for this stack. Secrets (the API token, WhatsApp variables) are not in
        it: programs inherit them from supervisord's environment."""
        sections = [
            "; Written by bot/serve.py at every start: edits here are overwritten.",
            "[unix_http_server]",
            f"file={_conf(self.socket_path)}",
            "chmod=0700",
            "",
            "[supervisord]",
            "nodaemon=true",
            "silent=true",
            f"logfile={_conf(self.log_path('supervisord'))}",
            f"logfile_maxbytes={LOG_MAXBYTES}",
            f"logfile_backups={LOG_BACKUPS}",
            "loglevel=info",
            f"pidfile={_conf(self.settings.work_dir / 'supervisord.pid')}",
            f"childlogdir={_conf(self.log_dir)}",
            f"environment={_conf_environment(self.stack_env())}",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{_conf(self.socket_path)}",
            "",
            f"[group:{GROUP}]",
            f"programs={','.join(p.name for p in self.programs())}",
        ]
        for priority, program in enumerate(self.programs(), start=1):
            sections += [
                "",
                f"[program:{program.name}]",
                f"command={_conf_command(program.command)}",
                f"directory={_conf(PROJECT_ROOT)}",
                f"priority={priority * 10}",
                *([f"user={_conf(program.user)}"] if program.user else []),
                "autostart=false",  # Stack.start starts them in order (see the module docstring)
                "autorestart=true",
                f"startsecs={STARTSECS}",
                f"startretries={STARTRETRIES}",
                f"stopsignal={program.stop_signal}",
                f"stopwaitsecs={STOPWAITSECS}",
                "stopasgroup=true",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={_conf(self.log_path(program.name))}",
                f"stdout_logfile_maxbytes={LOG_MAXBYTES}",
                f"stdout_logfile_backups={LOG_BACKUPS}",
            ]
        return "\n".join(sections) + "\n"

    def write_supervisor_config(self) -> Path:
        self.config_path.write_text(self.supervisor_config())
        self.config_path.chmod(0o600)  # the database URL may hold a password
        return self.config_path

    @property
    def supervisor(self) -> Any:
        """supervisord's XML-RPC interface (`getProcessInfo`, `stopProcess`, …) over its socket.

        Raises OSError while supervisord is not answering.
        """
        if self._proxy is None:
            self._transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
            self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=self._transport)
        return self._proxy.supervisor

    def _reset_rpc(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._transport = self._proxy = None

    @property
    def processes(self) -> dict[str, ProgramState]:
        """Every program by name, as supervisor reports it; empty when supervisord is not up."""
        if not self.running:
            return {}
        try:
            infos = self.supervisor.getAllProcessInfo()
        except RPC_ERRORS:
            self._reset_rpc()
            return {}
        return {
            i["name"]: ProgramState(i["name"], i["statename"], i["pid"], i["description"])
            for i in infos
        }

    def pid(self, name: str) -> int:
        """The process id of program `name` as supervisor knows it; 0 when it is not running."""
        return int(self.supervisor.getProcessInfo(f"{GROUP}:{name}")["pid"])

    @property
    def running(self) -> bool:
        return self._supervisord is not None and self._supervisord.poll() is None

    def _check_can_start(self) -> None:
        try:
            pid = self.supervisor.getPID()
        except RPC_ERRORS:
            self._reset_rpc()
        else:
            self._reset_rpc()
            raise RuntimeError(
                f"a stack is already running from {self.settings.work_dir} (supervisord pid "
                f"{pid}); stop it with Ctrl-C or: supervisorctl -c {self.config_path} shutdown"
            )
        taken = [port for port in self._ports_to_check() if port and port_in_use(port)]
        if taken:
            raise RuntimeError(f"port {', '.join(map(str, taken))} already in use")
        if not self.settings.model.exists():
            raise RuntimeError(f"no Rasa model at {self.settings.model} (make train)")

    def _ports_to_check(self) -> list[int]:
        """The fixed ports this stack's programs will bind (0: any free port)."""
        ports = [self.settings.action_port, self.settings.rasa_port]
        ports += [self.settings.web_port] if self.settings.with_web else []
        return ports + ([self.settings.worker_port] if self.settings.with_worker else [])

    def prepare_storage(self) -> None:
        """Bring the project's tables at MESO_DATABASE_URL to the newest schema revision: the one
        place every profile prepares its schema, once its services (if any) are ready and before
        any other program starts. Raises RuntimeError (bot/storage/migrate.py: the failing
        revision, or the unreachable database with its password hidden)."""
        self.migrate_database()

    def before_start(self, program: Program) -> None:
        """Write what `program` reads at start and only now can be known (its needs' ports)."""
        if program.name == "rasa":
            self.write_endpoints()

    def _check_knowledge_base(self) -> subprocess.Popen:
        """`python -m bot kb load` (it validates the files; nothing waits for it) started in the
        background, so that it runs while the programs load; see `_knowledge_base_checked`."""
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "kb", "load"],
            cwd=PROJECT_ROOT,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def _knowledge_base_checked(check: subprocess.Popen, timeout: float) -> None:
        """Wait for the check; raise RuntimeError with its error output when it failed."""
        try:
            _, stderr = check.communicate(timeout=max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            check.kill()
            check.communicate()
            raise TimeoutError("the knowledge base check did not finish") from None
        if check.returncode != 0:
            raise RuntimeError(f"knowledge base load failed:\n{stderr[-2000:]}")

    def migrate_database(self) -> list[str]:
        """Bring the project's tables to the newest schema revision (bot/storage/migrate.py),
        once, before any program starts: the programs then find nothing left to migrate.
        Returns the revisions applied; raises as `migrate_at_start` does."""
        from bot.storage.migrate import migrate_at_start

        return migrate_at_start(self.settings.db_url)

    def start(self, timeout: float = 180.0) -> Stack:
        """Migrate the database, start supervisord, then every program in dependency order;
        return once all of them answer (`ports` then holds every serving program's port).

        Raises RuntimeError when the stack cannot start (a migration fails or the database
        cannot be reached: then nothing is started; a port is taken, a stack already runs from
        this work dir, the knowledge files do not validate, supervisord exits, supervisor gives
        up on a program) and TimeoutError when a program does not answer within `timeout` s;
        everything started is stopped first.
        """
        started = time.monotonic()
        deadline = started + timeout
        programs = {p.name: p for p in self.programs()}
        services = [p for p in programs.values() if p.service]
        if not services:  # nothing to wait for: a failing migration then starts nothing at all
            self.prepare_storage()
        self._check_can_start()
        self.write_runtime_files()
        self.write_supervisor_config()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        knowledge_check = self._check_knowledge_base()
        try:
            with open(self.log_path("supervisord"), "ab") as out:
                self._supervisord = subprocess.Popen(
                    [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config_path)],
                    cwd=PROJECT_ROOT,
                    env={**os.environ, **self.settings.extra_env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # signals reach it from us only
                )
            self._wait_supervisord(deadline)
            for program in services:
                self.supervisor.startProcess(f"{GROUP}:{program.name}", False)
            if services:
                self._wait_programs_ready(services, deadline)
                self.prepare_storage()
            for program in programs.values():
                if program.service:
                    continue
                for need in program.needs:
                    self._find_port(programs[need], deadline)
                self.before_start(program)
                self.supervisor.startProcess(f"{GROUP}:{program.name}", False)
            self._knowledge_base_checked(knowledge_check, deadline - time.monotonic())
            self.wait_ready(deadline - time.monotonic())
        except BaseException:
            if knowledge_check.poll() is None:
                knowledge_check.kill()
                knowledge_check.communicate()
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        return self

    def _check_supervisord(self) -> None:
        if self._supervisord is not None and self._supervisord.poll() is not None:
            log = self.log_path("supervisord")
            raise RuntimeError(
                f"supervisord exited with {self._supervisord.returncode}; see {log}:\n{_tail(log)}"
            )

    def _wait_supervisord(self, deadline: float) -> None:
        def answers() -> bool:
            try:
                self.supervisor.getState()
                return True
            except RPC_ERRORS:
                self._reset_rpc()
                return False

        wait_until(
            answers,
            deadline - time.monotonic(),
            f"supervisord answering at {self.socket_path}",
            interval=0.05,
            check=self._check_supervisord,
        )

    def _check_program(self, program: Program) -> None:
        """Raise RuntimeError when supervisord exited or gave up on `program`."""
        self._check_supervisord()
        state = self.processes.get(program.name)
        if state is not None and state.state == "FATAL":
            log = self.log_path(program.name)
            raise RuntimeError(
                f"{program.label} could not start ({state.description}); see {log}:\n{_tail(log)}"
            )

    def _find_port(self, program: Program, deadline: float) -> int:
        """`program`'s port: the fixed one, or the one it listens on once it does (recorded in its
        port file so that supervisor restarts it there). Raises as `start` does."""
        if program.name in self.ports:
            return self.ports[program.name]

        def listening() -> int:
            pid = self.processes.get(program.name, ProgramState("", "", 0, "")).pid
            ports = listening_ports(pid) if pid else set()
            if len(ports) > 1:
                raise RuntimeError(f"{program.label} listens on several ports: {sorted(ports)}")
            return ports.pop() if ports else 0

        port = wait_until(
            listening,
            deadline - time.monotonic(),
            f"{program.label} listening; see {self.log_path(program.name)}",
            interval=0.2,
            check=lambda: self._check_program(program),
        )
        write_port(self.ports_dir, program.name, port)
        self.ports[program.name] = port
        return port

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Return once every serving program answers at its ready path (after a start, or after
        a test stopped or killed a program). Raises as `start` does."""
        self._wait_programs_ready(self.programs(), time.monotonic() + timeout)

    def _wait_programs_ready(self, programs: list[Program], deadline: float) -> None:
        for program in programs:
            if not program.probed:
                continue
            port = self._find_port(program, deadline)
            if program.ready_check is not None:
                check, where = program.ready_check, f"port {port}"
                ready: Callable[[], bool] = lambda check=check, port=port: check(port)  # noqa: E731
            else:
                where = f"http://127.0.0.1:{port}{program.ready_path}"
                ready = lambda url=where: endpoint_ready(url)  # noqa: E731
            wait_until(
                ready,
                deadline - time.monotonic(),
                f"{program.label} ready at {where}; see {self.log_path(program.name)}",
                interval=0.2,
                check=lambda program=program: self._check_program(program),
            )

    def stop_process(self, name: str) -> None:
        """Stop program `name` through supervisor (it stays stopped); no-op if it is not running
        or not part of this stack."""
        if not self.running:
            return
        try:
            self.supervisor.stopProcess(f"{GROUP}:{name}", True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode not in (xmlrpc_faults.NOT_RUNNING, xmlrpc_faults.BAD_NAME):
                raise

    def start_process(self, name: str, wait: bool = True) -> None:
        """Start program `name` through supervisor (on its recorded port); with `wait`, returns
        once supervisor counts it as started (STARTSECS), else at once (see `wait_ready`)."""
        self.supervisor.startProcess(f"{GROUP}:{name}", wait)

    def wait(self, timeout: float | None = None) -> int | None:
        """supervisord's exit status once it exits, or None after `timeout` s."""
        if self._supervisord is None:
            return None
        try:
            return self._supervisord.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop supervisord, which stops every program (see the module docstring). Idempotent."""
        proc = self._supervisord
        if proc is None:
            return
        self._reset_rpc()  # a call interrupted by Ctrl-C leaves the connection unusable
        pids = [p.pid for p in self.processes.values() if p.pid]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOPWAITSECS + 10)  # one group: all stop at once
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in pids:  # left behind only if supervisord itself died or hung
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self._supervisord = None
        self._reset_rpc()

    def ready_message(self) -> str:
        """What `make run` prints once everything answers: where to talk to the assistant."""
        web = "http://localhost:8080"
        return (
            f"\nReady in {self.ready_seconds:.1f}s. Talk to the assistant:\n"
            f"  Demo page with the chat widget  {web}/\n"
            f"  Waiting-room kiosk              {web}/kiosk\n"
            f"  Clinician inbox                 {web}/clinician  (create an account: "
            f"make staff NAME=name)\n"
            f"  REST                            curl -s localhost:5005/webhooks/rest/webhook "
            f'-d \'{{"sender":"me","message":"how much does it cost"}}\'\n'
            f"  Socket.io                       http://localhost:5005/socket.io\n"
            + (
                "  WhatsApp webhook                http://localhost:5005/webhooks/whatsapp/webhook\n"
                if self.whatsapp_enabled
                else ""
            )
            + f"Logs in {self.log_dir}. supervisord restarts any part that exits "
            f"(status: .venv/bin/supervisorctl -c {self.config_path} status).\n"
            "Press Ctrl-C to stop."
        )

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LivenessWatch:
    """Restarts a serving program that runs but no longer answers LIVE_PATH (a hung event loop,
    a stopped process): supervisord itself restarts only programs that exit. A process is
    watched once it has answered (a starting Rasa loads its model before it listens); after
    `misses` checks in a row without a 200 within `timeout` s, its process group is killed
    (SIGKILL: a hung process cannot ignore it) and supervisor's autorestart brings it back on
    its recorded port."""

    def __init__(
        self, stack: Stack, misses: int = LIVENESS_MISSES, timeout: float = LIVENESS_TIMEOUT
    ) -> None:
        self.stack = stack
        self.misses = misses
        self.timeout = timeout
        self._answered: dict[str, int] = {}  # program -> pid that has answered LIVE_PATH
        self._missed: dict[str, int] = {}

    def check(self) -> list[str]:
        """Check every running serving program once; returns those killed as hung."""
        states = self.stack.processes
        killed: list[str] = []
        for program in self.stack.programs():
            name = program.name
            state, port = states.get(name), self.stack.ports.get(name)
            if program.ready_path is None or port is None or state is None or not state.pid:
                continue
            if endpoint_ready(f"http://127.0.0.1:{port}{LIVE_PATH}", self.timeout):
                self._answered[name] = state.pid
                self._missed.pop(name, None)
                continue
            if self._answered.get(name) != state.pid or state.state != "RUNNING":
                continue  # still starting, or supervisor already handles it
            self._missed[name] = self._missed.get(name, 0) + 1
            if self._missed[name] >= self.misses:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(state.pid, signal.SIGKILL)
                del self._missed[name]
                killed.append(name)
        return killed


RESTART_NOTES = {
    "STARTING": "restarted by supervisor",
    "RUNNING": "restarted by supervisor",
    "EXITED": "exited; supervisor restarts it",
    "BACKOFF": "exited too quickly; supervisor retries after a pause",
    "FATAL": f"supervisor gave up after {STARTRETRIES} quick exits in a row",
}


def _report_restarts(stack: Stack, interval: float = 1.0) -> int:
    """Print what supervisor restarts or gives up on, and restart what hangs (LivenessWatch);
    return 1 if supervisord itself exits."""
    seen = {p.name: (p.state, p.pid) for p in stack.processes.values()}
    watch = LivenessWatch(stack)
    next_check = time.monotonic() + LIVENESS_EVERY
    while True:
        status = stack.wait(timeout=interval)
        if status is not None:
            log = stack.log_path("supervisord")
            print(f"error: supervisord exited ({status}); see {log}", file=sys.stderr, flush=True)
            return 1
        if time.monotonic() >= next_check:
            for name in watch.check():
                print(
                    f"{name}: no answer at {LIVE_PATH} in {watch.misses} checks "
                    f"{LIVENESS_EVERY:g}s apart; killed, supervisor restarts it",
                    flush=True,
                )
            next_check = time.monotonic() + LIVENESS_EVERY
        for p in stack.processes.values():
            before = seen.get(p.name)
            seen[p.name] = (p.state, p.pid)
            if before is None or before == (p.state, p.pid):
                continue
            restarted = p.pid not in (0, before[1])
            if (restarted or p.state not in ("RUNNING", "STARTING")) and p.state != "STOPPING":
                note = RESTART_NOTES.get(p.state, p.state)
                pid = f" (pid {p.pid})" if p.pid else ""
                print(f"{p.name}: {note}{pid}; see {stack.log_path(p.name)}", flush=True)
                if p.state == "FATAL":
                    print(
                        f"  retry: supervisorctl -c {stack.config_path} start {GROUP}:{p.name}",
                        flush=True,
                    )


def _raise_keyboard_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """`make run` (`serve`) and `make run-cluster` (`serve --cluster`): start everything on the
    standard ports, keep it running until Ctrl-C/SIGTERM.

    Returns 1 when the stack cannot start (or supervisord dies), 0 when stopped by a signal.
    """
    import argparse

    from bot.channels.whatsapp.settings import WhatsAppConfigError

    parser = argparse.ArgumentParser(prog="python -m bot serve")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="PostgreSQL, Redis, nginx and two Rasa replicas (README: Cluster profile)",
    )
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_keyboard_interrupt)
    if args.cluster:
        from bot.cluster.stack import ClusterSettings, ClusterStack

        stack: Stack = ClusterStack(ClusterSettings())
        what = "PostgreSQL, Redis, the action servers, nginx, the Rasa replicas"
    else:
        stack = Stack(StackSettings(database_url=os.environ.get("MESO_DATABASE_URL") or None))
        what = "the action server, Rasa"
    print(
        f"Starting {what}, the web server and the notification worker under supervisord…",
        flush=True,
    )
    try:
        stack.start()
        if not stack.whatsapp_enabled:
            print(
                "WhatsApp channel: off (set WHATSAPP_VERIFY_TOKEN, WHATSAPP_APP_SECRET, "
                "WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID to turn it on)"
            )
        print(stack.ready_message(), flush=True)
        return _report_restarts(stack)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except (RuntimeError, TimeoutError, OSError, ValueError, WhatsAppConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # let the stop finish
        stack.stop()
