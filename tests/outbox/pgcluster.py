"""A throwaway PostgreSQL cluster for tests and benchmarks (Debian's PostgreSQL 15 binaries).

:func:`start_cluster` runs ``initdb`` into a fresh temporary directory and ``pg_ctl start``
with a Unix socket in that directory and no TCP listener at all, ``trust`` authentication
for the ``postgres`` role, and durability switched off (a test cluster holds nothing worth
an fsync). ``initdb`` refuses to run as root: as root, both run as the ``postgres`` system
user (``runuser``), which owns the directory. :meth:`Cluster.stop` stops it and deletes
everything.

``OUTBOX_TEST_PG_DSN`` names an existing server instead (its ``postgres`` database is
used; the tests drop and recreate only the ``segurlink_outbox_*`` tables).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
DSN_VARIABLE = "OUTBOX_TEST_PG_DSN"


class ClusterUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (binaries or the postgres user are missing)."""


@dataclass
class Cluster:
    dsn: str
    directory: Path | None = None
    run_as: tuple[str, ...] = ()

    def stop(self) -> None:
        if self.directory is None:
            return
        subprocess.run(
            [
                *self.run_as,
                str(BINDIR / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None


def start_cluster(*, durable: bool = False) -> Cluster:
    """An existing server (``OUTBOX_TEST_PG_DSN``) or a new throwaway cluster.

    ``durable`` keeps PostgreSQL's default fsync and synchronous commit (for benchmarks:
    what a production server pays per commit); tests go without.
    """
    if os.environ.get(DSN_VARIABLE):
        return Cluster(os.environ[DSN_VARIABLE])
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (BINDIR / tool).is_file():
            raise ClusterUnavailable(f"{BINDIR / tool} is absent (apt-get install postgresql-15)")
    run_as: tuple[str, ...] = ()
    directory = Path(tempfile.mkdtemp(prefix="segurlink-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(directory)
            raise ClusterUnavailable("running as root and there is no 'postgres' user") from None
        if shutil.which("runuser") is None:
            shutil.rmtree(directory)
            raise ClusterUnavailable("running as root and runuser (util-linux) is absent")
        os.chown(directory, user.pw_uid, user.pw_gid)
        run_as = ("runuser", "-u", "postgres", "--")
    data = directory / "data"
    cluster = Cluster("", directory, run_as)
    try:
        subprocess.run(
            [
                *run_as,
                str(BINDIR / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale",
                "C",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        options = f"-k {directory} -c listen_addresses='' -p 5432 -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            [
                *run_as,
                str(BINDIR / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(directory / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            capture_output=True,
            check=True,
            timeout=90,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = directory / "server.log"
        details = getattr(exc, "stderr", b"") or b""
        if log.exists():
            details += log.read_bytes()[-2000:]
        cluster.stop()
        raise ClusterUnavailable(
            f"PostgreSQL did not start: {exc}: {details.decode(errors='replace')}"
        ) from exc
    cluster.dsn = f"postgresql://postgres@/postgres?host={directory}&port=5432"
    return cluster


def drop_outbox_tables(dsn: str) -> None:
    """Remove the outbox tables (each test starts from an empty database)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS segurlink_outbox_blob, segurlink_outbox_job, "
            "segurlink_outbox_schema CASCADE"
        )
