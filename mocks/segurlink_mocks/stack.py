"""All the mocks together, for ``segurlink mock serve`` and ``python -m segurlink_mocks``.

:class:`MockStack` creates (or reuses) the test PKI in ``<directory>/pki``, starts every
mock, and writes ``<directory>/segurlink.toml``: a segurlink settings file pointing at
the mocks, loadable with :meth:`segurlink.config.Settings.from_toml` (relative paths in it
are relative to the file). The file is removed when the stack stops.

One stack per directory: a running stack holds an exclusive lock on ``<directory>/mocks.lock``
(released by the kernel even when the process is killed) and records its pid in
``<directory>/mocks.json``. :func:`stack_status` tells a running stack from a settings file
left behind by a killed one, and a second stack refuses a directory in use instead of
overwriting the first one's file.

>>> with MockStack(tmp_dir) as stack:                 # doctest: +SKIP
...     settings = stack.settings()
...     settings.insi().endpoint
'https://127.0.0.1:40551/lps'
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, Self

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ._core.service import MockService
    from .annuaire import AnnuaireMock
    from .dmp import DmpMock
    from .insi import InsiMock
    from .mssante import MssMock
    from .pki import TestPki
    from .psc import PscMock
    from .ror import RorMock

from ._core.installation import (
    DEFAULT_IDAM,
    SOFTWARE_NAME,
    SOFTWARE_VERSION,
    STRUCTURE_FINESS,
    default_state_dir,
)

__all__ = [
    "MockDirectoryBusy",
    "MockStack",
    "StackStatus",
    "default_state_dir",
    "mock_process",
    "serve_forever",
    "stack_status",
]

CONFIG_FILE = "segurlink.toml"
STATE_FILE = "mocks.json"
LOCK_FILE = "mocks.lock"
_INSTANCE_FILE = "instance-id"

try:  # POSIX: an flock dies with its process, so a killed server leaves no live lock
    import fcntl
except ImportError:  # pragma: no cover - Windows: the pid check alone
    fcntl = None  # type: ignore[assignment]


class MockDirectoryBusy(RuntimeError):
    """Another running mock stack serves this directory."""

    def __init__(self, status: StackStatus) -> None:
        super().__init__(
            f"{status.directory} is in use by the mocks of {status.owner}: their settings are "
            f"{status.config_path}; use them, stop them first, or give this one another "
            "directory (--dir or SEGURLINK_MOCK_DIR)"
        )
        self.status = status


@dataclass(frozen=True, slots=True)
class StackStatus:
    """What a state directory holds: running mocks, a stale settings file, or nothing.

    ``stale`` means a ``segurlink.toml`` is there but the stack that wrote it is gone
    (killed before it could remove the file): its ports are closed.
    """

    directory: Path
    state: Literal["running", "stale", "absent"]
    pid: int | None = None

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def owner(self) -> str:
        return f"process {self.pid}" if self.pid else "another process"


def stack_status(directory: Path) -> StackStatus:
    """Whether mocks are running with their settings file in ``directory``.

    Running means the directory's lock is held (or, without ``fcntl``, the recorded pid
    is alive); a settings file without a live owner is stale.
    """
    directory = Path(directory)
    pid = _recorded_pid(directory)
    if not (directory / CONFIG_FILE).is_file():
        return StackStatus(directory, "absent", pid)
    held = _lock_is_held(directory / LOCK_FILE)
    if held is None:  # no lock file (or no flock): fall back on the recorded pid
        held = pid is not None and _pid_alive(pid)
    return StackStatus(directory, "running" if held else "stale", pid)


def _recorded_pid(directory: Path) -> int | None:
    try:
        pid = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _lock_is_held(path: Path) -> bool | None:
    if fcntl is None or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the shared lock we may have taken
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


class MockStack:
    """The PKI, the running mocks and the settings file in ``directory``.

    ``insi_port=0`` picks a free port; give a fixed one to keep the same URL across runs.
    ``psc_login_page`` makes the PSC mock show its login page instead of auto-approving.
    """

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        insi_port: int = 0,
        psc_login_page: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self.insi_port = insi_port
        self.psc_login_page = psc_login_page
        self._pki: TestPki | None = None
        self._insi: InsiMock | None = None
        self._ror: RorMock | None = None
        self._psc: PscMock | None = None
        self._dmp: DmpMock | None = None
        self._mss: MssMock | None = None
        self._annuaire: AnnuaireMock | None = None
        self._lock_fd: int | None = None
        #: The pid of a killed stack whose stale settings file this one replaced (0: unknown).
        self.replaced_stale: int | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        from .annuaire import AnnuaireMock
        from .dmp import DmpMock
        from .insi import InsiMock
        from .mssante import MssMock
        from .pki import TestPki
        from .psc import PscMock
        from .ror import RorMock

        if self._insi is not None:
            raise RuntimeError("mock stack already started")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._claim_directory()
        try:
            self._pki = TestPki.create(self.directory / "pki")
            self._insi = InsiMock(self._pki, host=self.host, port=self.insi_port).start()
            self._ror = RorMock(self._pki, host=self.host).start()
            self._psc = PscMock(
                self._pki, host=self.host, auto_approve=not self.psc_login_page
            ).start()
            self._dmp = DmpMock(self._pki, host=self.host).start()
            # OAuth logins on the MSSanté mock accept the PSC mock's access tokens.
            psc = self._psc.settings_table()
            self._mss = MssMock(
                self._pki,
                host=self.host,
                psc_introspection=(
                    self._psc.issuer + "/protocol/openid-connect/token/introspect",
                    psc["client_id"],
                    psc["client_secret"],
                ),
            ).start()
            self._annuaire = AnnuaireMock(self._pki, host=self.host).start()
            self._write_config()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every mock, remove the settings file and release the directory."""
        for mock in self.mocks.values():
            mock.stop()
        self._insi = None
        self._ror = None
        self._psc = None
        self._dmp = None
        self._mss = None
        self._annuaire = None
        if self._lock_fd is not None:  # only the owner removes the files
            self.config_path.unlink(missing_ok=True)
            (self.directory / STATE_FILE).unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _claim_directory(self) -> None:
        """Take the directory's lock, or raise :class:`MockDirectoryBusy`."""
        before = stack_status(self.directory)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif before.running:  # pragma: no cover - Windows
                raise BlockingIOError
        except BlockingIOError:
            os.close(fd)
            raise MockDirectoryBusy(stack_status(self.directory)) from None
        self._lock_fd = fd
        if before.state == "stale":
            self.replaced_stale = before.pid or 0
        state = {"pid": os.getpid(), "settings": CONFIG_FILE}
        (self.directory / STATE_FILE).write_text(json.dumps(state) + "\n", encoding="utf-8")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- access --------------------------------------------------------------------------

    @property
    def pki(self) -> TestPki:
        if self._pki is None:
            raise RuntimeError("mock stack not started")
        return self._pki

    @property
    def insi(self) -> InsiMock:
        if self._insi is None:
            raise RuntimeError("mock stack not started")
        return self._insi

    @property
    def psc(self) -> PscMock:
        if self._psc is None:
            raise RuntimeError("mock stack not started")
        return self._psc

    @property
    def mocks(self) -> dict[str, MockService]:
        """The running mocks by service name."""
        running: dict[str, MockService | None] = {
            "insi": self._insi,
            "ror": self._ror,
            "psc": self._psc,
            "dmp": self._dmp,
            "mssante": self._mss,
            "annuaire": self._annuaire,
        }
        return {name: mock for name, mock in running.items() if mock is not None}

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    def urls(self) -> dict[str, str]:
        """The service URL of each running mock (what its settings table points at)."""
        return {name: _service_url(mock) for name, mock in self.mocks.items()}

    def settings(self) -> Settings:
        """The segurlink settings of the written file."""
        from segurlink.config import Settings

        return Settings.from_toml(self.config_path)

    # -- settings file -------------------------------------------------------------------

    def _instance_id(self) -> str:
        # The software instance is a UUID fixed per installation: keep it across restarts.
        path = self.directory / _INSTANCE_FILE
        try:
            value = path.read_text(encoding="utf-8").strip()
            uuid.UUID(value)
            return value
        except (OSError, ValueError):
            value = str(uuid.uuid4())
            path.write_text(value + "\n", encoding="utf-8")
            return value

    def _write_config(self) -> None:
        from .pki import STRUCTURE_NAME

        pki_dir = os.path.relpath(self.pki.directory, self.directory)
        tables: list[tuple[str, dict[str, str | float]]] = [
            (
                "software",
                {
                    "name": SOFTWARE_NAME,
                    "version": SOFTWARE_VERSION,
                    "idam": DEFAULT_IDAM,
                    "instance": self._instance_id(),
                },
            ),
            ("structure", {"finess": STRUCTURE_FINESS, "name": STRUCTURE_NAME}),
            ("tls", {"ca_bundle": f"{pki_dir}/ca.pem"}),
            ("timeouts", {"connect": 5.0, "read": 10.0}),
            (
                "insi",
                {
                    "endpoint": self.insi.endpoint,
                    "cert": f"{pki_dir}/insi-auto.pem",
                    "key": f"{pki_dir}/insi-auto.key",
                },
            ),
        ]
        if self._ror is not None:
            tables.append(("ror", dict(self._ror.settings_table())))
        if self._psc is not None:
            tables.append(("psc", dict(self._psc.settings_table())))
        if self._dmp is not None:
            tables.append(("dmp", dict(self._dmp.settings_table(pki_dir))))
        if self._mss is not None:
            tables.append(("mssante", dict(self._mss.settings_table(pki_dir))))
        if self._annuaire is not None:
            tables.append(("annuaire", dict(self._annuaire.settings_table())))
        lines = [
            "# Written by `segurlink mock serve`: segurlink settings pointing at the local mocks.",
            "# Removed when the mocks stop. Relative paths are relative to this file.",
        ]
        for table, values in tables:
            lines.append("")
            lines.append(f"[{table}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        tmp = self.config_path.with_suffix(".toml.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.config_path)


def _service_url(mock: MockService) -> str:
    # INSi's service is a path under the server (`/lps`); the others' base is the server.
    return str(getattr(mock, "endpoint", None) or mock.url)


def _psc_client_lines(psc: PscMock) -> str:
    client = psc.client_registration()
    login = (
        "login page (a person picks the test professional)"
        if client["login_page"]
        else "auto-approved (--psc-login-page shows the login page)"
    )
    return (
        f"  PSC client  client_id {client['client_id']}  client_secret "
        f"{client['client_secret']}  (test credentials)\n"
        f"              redirect_uri {' or '.join(client['redirect_uris'])}"
        " (loopback: any port)\n"
        f"  PSC login   {login}\n"
    )


def _toml_value(value: str | float) -> str:
    if isinstance(value, float):
        return repr(value)
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def serve_forever(
    directory: Path | None = None,
    host: str = "127.0.0.1",
    insi_port: int = 0,
    on_ready: Callable[[MockStack], None] | None = None,
    *,
    psc_login_page: bool = False,
) -> None:
    """Run the mock stack until SIGINT or SIGTERM; print the URLs and config to stderr.

    ``on_ready`` is called once every mock listens and the settings file is written.
    ``psc_login_page``: the PSC mock shows its login page (see :class:`MockStack`).
    """
    directory = Path(directory) if directory is not None else default_state_dir()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, request_stop)
        except ValueError:  # not the main thread: the caller handles signals
            pass
    try:
        with MockStack(
            directory, host=host, insi_port=insi_port, psc_login_page=psc_login_page
        ) as stack:
            services = "".join(
                f"  {name:<9} {url}  (control: {stack.mocks[name].url}/_mock/)\n"
                for name, url in stack.urls().items()
            )
            replaced = ""
            if stack.replaced_stale is not None:
                replaced = (
                    "  (replaced the settings left by stopped mocks"
                    + (f" of process {stack.replaced_stale}" if stack.replaced_stale else "")
                    + ")\n"
                )
            print(
                "segurlink mocks running (Ctrl-C to stop)\n"
                f"{services}"
                f"{replaced}"
                f"{_psc_client_lines(stack.psc)}"
                "  (the control endpoints need a client certificate of the test CA)\n"
                f"  settings  {stack.config_path}\n"
                f"  PKI       {stack.pki.directory}\n"
                f"Use it with: segurlink --config {stack.config_path} ...",
                file=sys.stderr,
                flush=True,
            )
            if on_ready is not None:
                on_ready(stack)
            while not stop.wait(0.5):
                pass
            print("segurlink mocks stopping", file=sys.stderr, flush=True)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def mock_process(directory: Path) -> Iterator[Settings]:
    """Run ``segurlink mock serve`` in a child process; yield the settings pointing at it.

    For benchmarks and suites that want the mocks outside the test process (no shared GIL).
    The child is stopped with SIGTERM on exit.
    """
    from segurlink.config import Settings

    server = subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter, our own module
        [sys.executable, "-m", "segurlink", "mock", "serve", "--json", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise RuntimeError("segurlink mock serve exited before announcing its settings")
        yield Settings.from_toml(json.loads(line)["settings"])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        finally:
            if server.stdout is not None:
                server.stdout.close()
