"""Starting the real system for end-to-end tests: the same supervisord-based `Stack` that
`make run` uses, so a test can also kill a part and watch supervisor restart it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.paths import PROJECT_ROOT
from bot.serve import Stack, StackSettings, free_port


def ensure_model() -> Path:
    """Train the model when it is missing or older than its data (the Makefile decides)."""
    subprocess.run(["make", "-s", "train"], cwd=PROJECT_ROOT, check=True)
    return PROJECT_ROOT / "models" / "current.tar.gz"


@contextmanager
def start_stack(
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    with_web: bool = True,
    with_worker: bool = False,
) -> Iterator[Stack]:
    """Action server, Rasa and (optionally) web server and worker on free loopback ports, under
    one supervisord whose files and logs are in `workdir`."""
    settings = StackSettings(
        work_dir=workdir,
        model=ensure_model(),
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        with_web=with_web,
        with_worker=with_worker,
        extra_env=extra_env or {},
    )
    with Stack(settings) as stack:
        yield stack
