"""A hostile HTTP(S) server on loopback for the transport tests: endless, trickling or
lying answers, with a count of what it managed to send.

Every request gets the same answer, chosen by ``mode``:

* ``endless``: status 200, chunked body of ``fill`` bytes repeated until the peer goes
  away (or ``cap`` bytes: a client that never stops cannot hang the test run);
* ``declared``: a ``Content-Length`` of ``declared`` bytes, then the endless body;
* ``gzip-bomb``: a gzip body of ``cap`` zero bytes decoded, a few kB on the wire;
* ``trickle``: ``body`` one byte every ``interval`` seconds (each read of the client gets
  a byte before its socket timeout: only an overall deadline stops it);
* ``fixed``: ``status``, ``content_type``, ``headers`` and ``body`` as given;
* ``silent``: accepts the connection (and the TLS handshake) and never says a word;
* ``reset``: reads the request, then closes the connection with a TCP reset;
* ``hangup``: closes with a TCP reset at once, before a word (a server that speaks first,
  SMTP's greeting, never comes);
* ``truncated``: a ``Content-Length`` of ``declared`` bytes, ``body`` only, then closes.

``sent`` is the number of body bytes the socket accepted; ``peer_closed`` counts answers
the peer cut off (a send failed).
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import ssl
import struct
import threading
import time
from types import TracebackType
from typing import Self


class HostileServer:
    def __init__(
        self,
        mode: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        fill: bytes = b"<x>" + b"a" * 1021,
        cap: int = 512 * 1024 * 1024,
        declared: int = 0,
        body: bytes = b"",
        interval: float = 0.2,
        status: int = 200,
        content_type: str = "application/json",
        headers: str = "",
    ) -> None:
        self.mode = mode
        self.fill = fill
        self.cap = cap
        self.declared = declared
        self.body = body
        self.interval = interval
        self.status = status
        self.content_type = content_type
        self.headers = headers
        self.sent = 0
        self.peer_closed = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ssl = ssl_context
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # -- one connection ------------------------------------------------------------------

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        sock: socket.socket = raw
        try:
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(raw, server_side=True)
            if self.mode == "silent":
                self._stop.wait(30)
                return
            if self.mode == "hangup":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            self._read_request(sock)
            with self._lock:
                self.requests += 1
            self._answer(sock)
        except OSError:
            with self._lock:
                self.peer_closed += 1
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _read_request(self, sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("no request")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk

    def _count(self, n: int) -> None:
        with self._lock:
            self.sent += n

    def _answer(self, sock: socket.socket) -> None:
        if self.mode == "fixed":
            sock.sendall(self._head(self.status, len(self.body), extra=self.headers) + self.body)
            self._count(len(self.body))
        elif self.mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif self.mode == "truncated":
            sock.sendall(self._head(200, self.declared) + self.body)
            self._count(len(self.body))
        elif self.mode == "trickle":
            sock.sendall(self._head(200, len(self.body)))
            for byte in self.body:
                if self._stop.wait(self.interval):
                    return
                sock.sendall(bytes([byte]))
                self._count(1)
        elif self.mode == "gzip-bomb":
            packed = gzip.compress(b"\0" * self.cap, compresslevel=9)
            sock.sendall(self._head(200, len(packed), extra="Content-Encoding: gzip\r\n") + packed)
            self._count(len(packed))
        elif self.mode == "declared":
            sock.sendall(self._head(200, self.declared))
            self._endless(sock, chunked=False)
        elif self.mode == "endless":
            sock.sendall(self._head(200, None))
            self._endless(sock, chunked=True)
        else:  # pragma: no cover - a typo in a test
            raise ValueError(self.mode)

    def _endless(self, sock: socket.socket, *, chunked: bool) -> None:
        piece = self.fill * 64
        frame = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
        while self.sent < self.cap and not self._stop.is_set():
            sock.sendall(frame)
            self._count(len(piece))
        time.sleep(0.1)

    def _head(self, status: int, length: int | None, *, extra: str = "") -> bytes:
        framing = (
            "Transfer-Encoding: chunked\r\n" if length is None else f"Content-Length: {length}\r\n"
        )
        return (
            f"HTTP/1.1 {status} X\r\nContent-Type: {self.content_type}\r\n{framing}{extra}"
            "Connection: close\r\n\r\n"
        ).encode()
