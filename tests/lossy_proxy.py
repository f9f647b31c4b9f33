"""A TCP proxy on loopback that can lose a reply: after it forwards a client message holding a
marker (b"COMMIT", b"EVALSHA"), it lets the server work, swallows the server's answer and
closes both sides. The client sees a lost connection after the server has done the work: the
ambiguous outcome that retries must survive."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class LossyProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream`."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._marker: bytes | None = None
        self._delay = 0.0
        self.cuts = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

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
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            dropping = threading.Event()
            threading.Thread(
                target=self._pump_up, args=(client, server, dropping), daemon=True
            ).start()
            threading.Thread(
                target=self._pump_down, args=(server, client, dropping), daemon=True
            ).start()

    def _pump_up(
        self, client: socket.socket, server: socket.socket, dropping: threading.Event
    ) -> None:
        try:
            while chunk := client.recv(65536):
                delay = self._take(chunk)
                if delay is not None:
                    dropping.set()  # the answer to this message never reaches the client
                    server.sendall(chunk)
                    time.sleep(delay)  # the server does the work meanwhile
                    break
                server.sendall(chunk)
        except OSError:
            pass
        for side in (client, server):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()

    @staticmethod
    def _pump_down(server: socket.socket, client: socket.socket, dropping: threading.Event) -> None:
        try:
            while chunk := server.recv(65536):
                if not dropping.is_set():
                    client.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self._closed = True
        self._listener.close()
