"""`pytest` runs the docstring examples (--doctest-modules over src/segurlink), so it imports
every module of the library: that import must do nothing but define names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

IMPORT_EVERYTHING = """
import importlib, json, logging, os, pkgutil, socket, sys, threading

opened = []  # the files that created a socket
class Spy(socket.socket):
    def __init__(self, *args, **kwargs):
        opened.append(sys._getframe(1).f_code.co_filename)
        super().__init__(*args, **kwargs)
socket.socket = Spy

environ = dict(os.environ)
threads = threading.active_count()
root = logging.getLogger()
handlers, level = list(root.handlers), root.level

import segurlink
names = sorted(
    m.name for m in pkgutil.walk_packages(segurlink.__path__, "segurlink.")
    if m.name != "segurlink.__main__"  # `python -m segurlink`: pytest never imports it
)
for name in names:
    importlib.import_module(name)

# A library's own NullHandler (requests, urllib3) is the logging HOWTO's advice, not a setting.
configured = sorted(
    name for name, logger in logging.root.manager.loggerDict.items()
    if isinstance(logger, logging.Logger) and (logger.level or any(
        not isinstance(h, logging.NullHandler) for h in logger.handlers))
)
print(json.dumps({
    "modules": names,
    "sockets": opened,
    "threads": threading.active_count() - threads,
    "root": [root.handlers == handlers, root.level == level],
    "configured_loggers": configured,
    "environ_changed": sorted(k for k in set(environ) | set(os.environ)
                              if environ.get(k) != os.environ.get(k)),
}))
"""


def test_pytest_runs_the_docstring_examples_of_the_library() -> None:
    options = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["pytest"]
    ini = options["ini_options"]
    assert "src/segurlink" in ini["testpaths"]
    assert "--doctest-modules" in ini["addopts"].split()


def test_importing_every_module_has_no_side_effect(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)

    assert len(facts["modules"]) > 60  # the walk found the library, sub-packages included
    assert "segurlink.outbox.postgres" in facts["modules"]
    # urllib3 probes IPv6 support at import (a socket bound to ::1, nothing sent): not ours.
    assert [f for f in facts["sockets"] if "site-packages" not in f] == []
    assert facts["threads"] == 0
    assert facts["root"] == [True, True]
    assert facts["configured_loggers"] == []
    assert facts["environ_changed"] == []
    assert list(cwd.iterdir()) == []
    assert list(home.iterdir()) == []
    assert done.stderr == ""  # no warning printed either
