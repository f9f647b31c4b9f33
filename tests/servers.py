"""Throwaway Redis and PostgreSQL servers for tests and benchmarks: started on loopback in a
temporary directory, stopped and removed afterwards.

A port found free can be taken by another process before the server binds it, and on a shared
machine that process may be someone else's server. So a server is only used once it has
proved who it is: Redis reports our temporary directory (`CONFIG GET dir`), PostgreSQL our
data directory (`SHOW data_directory`). A first start that cannot bind, or finds someone else
on the port, tries again on another port; a restart must get its own port back or fails.

Under CI=true a missing server binary is an error; elsewhere the tests that need one are
skipped with the package to install.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

IN_CI = os.environ.get("CI", "").lower() == "true"
PORT_ATTEMPTS = 8  # first starts only: each attempt takes a new port
START_SECONDS = 30.0


class ServerMissing(Exception):  # noqa: N818 - the name says what happened
    """The server binary is not installed; the message names the package."""


class PortTaken(Exception):  # noqa: N818 - the name says what happened
    """The server could not bind its port, or another server answers there."""


def free_port() -> int:
    """A loopback port that was free a moment ago (the caller must check who answers)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _same_path(reported: str | None, ours: Path) -> bool:
    return reported is not None and os.path.realpath(reported) == os.path.realpath(ours)


def _redis_dir(port: int) -> str | None:
    """The `dir` of the Redis answering on `port`, or None when nothing answers yet."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        found = client.config_get("dir").get("dir")
    except redis.RedisError:  # not listening yet, still loading, or not a Redis we can ask
        return None
    finally:
        client.close()
    return None if found is None else str(found)


class RedisServer:
    """A redis-server with AOF and `appendfsync always`, restartable on the same port and data."""

    def __init__(self, *, appendfsync: str = "always") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerMissing("redis-server is not installed (Debian/Ubuntu: redis-server)")
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="liveops-redis-"))
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        try:
            for attempt in range(PORT_ATTEMPTS):
                self.port = free_port()
                try:
                    self.start()
                    break
                except PortTaken:
                    if attempt == PORT_ATTEMPTS - 1:
                        raise
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"

    def start(self) -> None:
        """Start on `self.port`; PortTaken when it cannot bind or another server answers."""
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                self.appendfsync,
                "--logfile",
                str(self.log),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.kill()
            raise

    def _wait_until_it_answers(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            exited = self.process.poll()
            reported = _redis_dir(self.port)
            if _same_path(reported, self.directory) and exited is None:
                return
            if exited is not None:
                raise PortTaken(
                    f"redis-server exited with {exited} on port {self.port}: {self._log_text()}"
                )
            if reported is not None:  # someone else's Redis; ours cannot bind and will exit
                raise PortTaken(f"another Redis (dir {reported}) answers on port {self.port}")
            time.sleep(0.02)
        raise RuntimeError(
            f"redis-server did not answer on {self.port} within {START_SECONDS:g} s: "
            f"{self._log_text()}"
        )

    def _log_text(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: the server process dies without a chance to write anything more."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)
            self.process = None

    def restart(self) -> None:
        """SIGKILL, then a new process on the same port and AOF."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if versions:
        return versions[-1].parent
    raise ServerMissing("PostgreSQL server binaries are missing (Debian/Ubuntu: postgresql)")


class PostgresServer:
    """A PostgreSQL cluster made by initdb in a temporary directory, run by pg_ctl.

    initdb and postgres refuse to run as root: as root, the cluster belongs to the `postgres`
    system user and the commands run as that user.
    """

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.directory = Path(tempfile.mkdtemp(prefix="liveops-pg-"))
        self.data = self.directory / "data"
        self.port = 0
        self._as: list[str] = []
        try:
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(self.directory, user.pw_uid, user.pw_gid)
                self._as = ["runuser", "-u", "postgres", "--"]
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
            for attempt in range(PORT_ATTEMPTS):
                self.port = free_port()
                try:
                    self.start()
                    break
                except PortTaken:
                    if attempt == PORT_ATTEMPTS - 1:
                        raise
        except BaseException:
            self.destroy()
            raise

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.directory,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        return self.directory / "log"

    def start(self) -> None:
        """Start on `self.port`; PortTaken when it cannot bind or another server answers."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        seen = self.log.stat().st_size if self.log.exists() else 0
        try:
            self._run(
                "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
            )
        except subprocess.CalledProcessError as error:
            log = self._log_text(since=seen)
            if "could not bind" in log or "could not create any TCP/IP sockets" in log:
                raise PortTaken(f"PostgreSQL could not bind port {self.port}: {log}") from None
            raise RuntimeError(f"pg_ctl start failed ({error.stderr!r}): {log}") from None
        reported = self._data_directory()
        if not _same_path(reported, self.data):
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop("immediate")
            raise PortTaken(f"another PostgreSQL ({reported}) answers on port {self.port}")

    def _data_directory(self) -> str | None:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=10) as connection:
                row = connection.execute("SHOW data_directory").fetchone()
        except psycopg.Error:
            return None
        return None if row is None else str(row[0])

    def _log_text(self, since: int = 0) -> str:
        try:
            with self.log.open("rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "immediate") -> None:
        """`immediate` is a crash of the server: no checkpoint, recovery from the WAL."""
        self.stop(mode)
        self.start()

    def empty(self, schema: str) -> None:
        """Delete every row of a store's tables (faster than making new ones)."""
        import psycopg

        tables = "counters, operations, holds, idempotency, ledger, codes, promotions, once"
        qualified = ", ".join(f'"{schema}".{table.strip()}' for table in tables.split(","))
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"TRUNCATE {qualified} RESTART IDENTITY")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
