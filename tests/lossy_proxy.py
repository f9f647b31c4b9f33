"""A TCP proxy on loopback that can lose a reply: after it forwards a client message holding a
marker (b"COMMIT", b"EVALSHA"), it lets the server work, swallows the server's answer and
closes both sides. The client sees a lost connection after the server has done the work: the
ambiguous outcome that retries must survive."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

THREAD_PREFIX = "lossy-proxy"


class LossyProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream`. The kernel picks `port` when the
    proxy binds it, so no other process can hold it. `close()` ends every connection and
    thread it started."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)  # so the accepting thread sees close() promptly
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._marker: bytes | None = None
        self._delay = 0.0
        self.cuts = 0
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(
            target=target,  # type: ignore[arg-type]
            args=args,
            name=f"{THREAD_PREFIX}-{self.port}-{len(self._threads)}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def cut_after(self, marker: bytes, delay: float = 0.3) -> None:
        """Lose the reply to the next client message that contains `marker`."""
        with self._lock:
            self._marker = marker
            self._delay = delay

    def _take(self, chunk: bytes) -> float | None:
        with self._lock:
            if self._marker is not None and self._marker in chunk:
                self._marker = None
                self.cuts += 1
                return self._delay
        return None

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
                server.settimeout(None)
            except OSError:  # the upstream is down: the client sees a dropped connection
                client.close()
                continue
            with self._lock:
                if self._closed.is_set():
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
                dropping = threading.Event()
                self._start(self._pump_up, client, server, dropping)
                self._start(self._pump_down, server, client, dropping)

    def _pump_up(
        self, client: socket.socket, server: socket.socket, dropping: threading.Event
    ) -> None:
        try:
            while chunk := client.recv(65536):
                delay = self._take(chunk)
                if delay is not None:
                    dropping.set()  # the answer to this message never reaches the client
                    server.sendall(chunk)
                    self._closed.wait(delay)  # the server does the work meanwhile
                    break
                server.sendall(chunk)
        except OSError:
            pass
        for side in (client, server):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _pump_down(server: socket.socket, client: socket.socket, dropping: threading.Event) -> None:
        try:
            while chunk := server.recv(65536):
                if not dropping.is_set():
                    client.sendall(chunk)
        except OSError:
            pass
        for side in (client, server):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, end every connection and wait for every thread of the proxy."""
        with self._lock:
            self._closed.set()
            sockets = list(self._sockets)
        for side in sockets:
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        for side in [*sockets, self._listener]:
            side.close()
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            raise RuntimeError(f"proxy threads did not stop within {timeout:g} s: {alive}")
