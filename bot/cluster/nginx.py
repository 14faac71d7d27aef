"""nginx from Debian's packages in front of the replicas: deploy/nginx/meso.conf.j2 rendered into
the work directory and run in the foreground (`daemon off`) with its own prefix, so the system's
/etc/nginx is neither read nor changed. The routing is explained in the template."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from bot.cluster.servers import ServerNotInstalled
from bot.paths import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "meso.conf.j2"
HEALTH_PATH = "/nginx-health"


def nginx_binary() -> str:
    """The nginx binary. Raises ServerNotInstalled."""
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if path is None:
        raise ServerNotInstalled("nginx not installed: run `make services`")
    return path


def render(**values: object) -> str:
    """The template with `values` (the variables its header lists); undefined ones raise."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # nginx configuration, not HTML
    )
    return environment.get_template(TEMPLATE.name).render(**values)


@dataclass(frozen=True)
class NginxServer:
    """nginx listening on 127.0.0.1:`port` (public) and 127.0.0.1:`actions_port` (the replicas'
    action endpoint), its files in `runtime_dir`."""

    runtime_dir: Path
    port: int
    actions_port: int

    @property
    def config_path(self) -> Path:
        return self.runtime_dir / "nginx.conf"

    def write_config(self, replicas: dict[str, str], action_servers: list[str]) -> Path:
        """Render the configuration for `replicas` (name -> "host:port") and `action_servers`."""
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.runtime_dir / sub).mkdir(parents=True, exist_ok=True)
        text = render(
            listen=f"127.0.0.1:{self.port}",
            actions_listen=f"127.0.0.1:{self.actions_port}",
            replicas=[{"name": name, "address": address} for name, address in replicas.items()],
            action_servers=action_servers,
            runtime_dir=str(self.runtime_dir),
            error_log="stderr",
            access_log="/dev/stdout",
        )
        self.config_path.write_text(text)
        return self.config_path

    def command(self) -> list[str]:
        """nginx in the foreground; `-e stderr` keeps it off /var/log/nginx before it reads ours."""
        return [
            nginx_binary(),
            "-p",
            str(self.runtime_dir),
            "-c",
            str(self.config_path),
            "-e",
            "stderr",
        ]

    def test_command(self) -> list[str]:
        return [*self.command(), "-t", "-q"]
