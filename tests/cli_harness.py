"""Runs many `liveops-rules` command lines, each in a process of its own, fast: a harness
process imports the package once and forks a child per command line. The child is the
program as its console script runs it (`sys.exit(main())`, stdout and stderr the real file
descriptors, stdin /dev/null, arguments as the OS gives them, undecodable bytes as
surrogate escapes), so a traceback, an exit status and an unprintable character show as they
would in a terminal.

Protocol on the harness's stdin/stdout: one JSON line per command (its arguments); the answer
is one JSON line {"status": ..., "stdout": ..., "stderr": ...} (outputs decoded with
backslashreplace), status None when the command did not finish within the time limit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

SECONDS_PER_COMMAND = 30.0


def _child(argv: list[str], out: int, err: int) -> None:
    """In the forked child: become the program, never return."""
    status = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        from liveops_rules.cli import main

        sys.argv = ["liveops-rules", *argv]
        try:
            code = main()
            status = code if isinstance(code, int) else 1
        except SystemExit as stop:  # what the interpreter does with sys.exit(...)
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:  # what the interpreter prints for an uncaught exception
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def _wait(pid: int) -> int | None:
    deadline = time.monotonic() + SECONDS_PER_COMMAND
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def _run(argv: list[str]) -> dict[str, object]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(argv, out.fileno(), err.fileno())
        status = _wait(pid)
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read().decode("utf-8", "backslashreplace"))
    return {"status": status, "stdout": texts[0], "stderr": texts[1]}


class Harness:
    """The test's end: starts the harness process; `run(argv)` answers as described above."""

    def __init__(self, root: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli_harness"],
            cwd=root,
            # as in a UTF-8 locale: what stdout cannot encode is an error, not escaped
            env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def run(self, argv: list[str]) -> dict[str, object]:
        """Run one command line; its status, stdout and stderr."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(argv) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()  # bounded: the harness kills a slow command
        if not line:
            raise RuntimeError("the harness process died")
        answer: dict[str, object] = json.loads(line)
        return answer

    def close(self) -> None:
        """Stop the harness process (it ends when its input does)."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=SECONDS_PER_COMMAND)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()


def serve() -> None:
    """Answer command lines read from stdin until it closes."""
    # imported, and run once, before the forks, so that each command starts at once
    import liveops_rules.stores.postgres_store
    import liveops_rules.stores.redis_store  # noqa: F401
    from liveops_rules.cli import build_parser, main

    build_parser()  # every verb's module, and every loader (a run imports only its own)

    samples = Path(__file__).resolve().parent.parent / "liveops_rules" / "samples"
    catalog, user, cart = (
        str(samples / name) for name in ("catalog.json", "user.json", "cart.json")
    )
    at = "2026-11-28T12:00:00+00:00"
    with contextlib.redirect_stderr(io.StringIO()):
        main(["check", catalog, "--user", user, "--at", at], io.StringIO())
        main(
            [
                "quote",
                cart,
                "--user",
                user,
                "--catalog",
                catalog,
                "--at",
                at,
                "--store",
                "memory://",
            ],
            io.StringIO(),
        )

    for line in sys.stdin:
        answer = _run(json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
