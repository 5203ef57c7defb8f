"""MLLP (Minimal Lower Layer Protocol, HL7 v2 over TCP): frames, a listener, a client.

A frame is ``<VT> message <FS><CR>`` (``0x0B`` ... ``0x1C 0x0D``). :class:`FrameReader` is
the pure, incremental decoder (bounded size, strict framing); :class:`MllpListener` serves
several connections concurrently, each in its own thread, and hands every message to a
handler that returns the ACK; :class:`MllpClient` sends a message and waits for its ACK.

Every wait is bounded: a connection that sends nothing for ``idle_timeout`` seconds, or
takes more than ``frame_timeout`` seconds to complete a frame it started (a trickling or
half-open peer), is closed with a :class:`~segurlink.errors.TransportTimeout`; a frame
larger than ``max_message_bytes`` or bytes outside a frame close it with an
:class:`~segurlink.errors.MllpError`. Message contents are never logged.

>>> frame_message(b"MSH|^~\\\\&|...")
b'\\x0bMSH|^~\\\\&|...\\x1c\\r'
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Final, Self

from ..errors import InputError, MllpError, SegurlinkError, TransportError, TransportTimeout

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "FrameReader",
    "MllpClient",
    "MllpListener",
    "frame_message",
]

logger = logging.getLogger(__name__)

START_BLOCK: Final = b"\x0b"
END_BLOCK: Final = b"\x1c"
CARRIAGE_RETURN: Final = b"\r"
DEFAULT_MAX_MESSAGE_BYTES: Final = 1024 * 1024
_BETWEEN_FRAMES: Final = frozenset(b"\r\n \t")  # tolerated between frames


def frame_message(message: bytes) -> bytes:
    """``message`` wrapped in an MLLP frame."""
    if START_BLOCK in message or END_BLOCK in message:
        raise MllpError("an HL7 message cannot contain the MLLP block characters 0x0B/0x1C")
    return START_BLOCK + message + END_BLOCK + CARRIAGE_RETURN


class FrameReader:
    """Incremental MLLP decoder: :meth:`feed` bytes as they come, get whole messages.

    Raises :class:`~segurlink.errors.MllpError` on bytes outside a frame (other than
    CR, LF, space, tab), a start block inside a frame, an end block not followed by CR,
    or a frame growing past ``max_message_bytes`` (checked before buffering more).

    >>> reader = FrameReader()
    >>> reader.feed(b"\\x0bMSH|a\\x1c"), reader.feed(b"\\r\\x0bMSH|b\\x1c\\r")
    ([b'MSH|a'], [b'MSH|b'])
    """

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes < 1:
            raise InputError("max_message_bytes must be positive")
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._in_frame = False
        self._awaiting_cr = False

    @property
    def in_frame(self) -> bool:
        """True between a start block and its end block (or the CR that must follow)."""
        return self._in_frame or self._awaiting_cr

    def feed(self, data: bytes) -> list[bytes]:
        messages: list[bytes] = []
        position = 0
        while position < len(data):
            if self._awaiting_cr:
                if data[position : position + 1] != CARRIAGE_RETURN:
                    raise MllpError("MLLP end block 0x1C is not followed by a carriage return")
                self._awaiting_cr = False
                position += 1
            elif not self._in_frame:
                byte = data[position]
                if byte == START_BLOCK[0]:
                    self._in_frame = True
                    self._buffer.clear()
                elif byte not in _BETWEEN_FRAMES:
                    raise MllpError("data outside an MLLP frame (expected the start block 0x0B)")
                position += 1
            else:
                end = data.find(END_BLOCK, position)
                chunk = data[position : end if end != -1 else len(data)]
                if START_BLOCK in chunk:
                    raise MllpError("MLLP start block 0x0B inside a frame")
                if len(self._buffer) + len(chunk) > self.max_message_bytes:
                    raise MllpError(
                        f"MLLP frame larger than the limit of {self.max_message_bytes} bytes"
                    )
                self._buffer += chunk
                if end == -1:
                    position = len(data)
                else:
                    messages.append(bytes(self._buffer))
                    self._buffer.clear()
                    self._in_frame = False
                    self._awaiting_cr = True
                    position = end + 1
        return messages


Handler = Callable[[bytes], bytes]


class MllpListener:
    """An MLLP server: each message received goes to ``handler``, whose bytes are the ACK.

    ``max_connections`` connections are served at once (one thread each); a connection
    beyond the limit is closed at once. :meth:`stop` is graceful: no new connection, each
    connection finishes the message it is handling (its ACK is sent), then closes;
    connections still busy after ``timeout`` are cut. Problems of a connection (framing,
    size, timeouts, a handler that raised) close it and are kept, typed, in
    :attr:`errors` (the last 100) and logged without content.

    >>> with MllpListener(lambda message: b"MSH|...ACK", port=0) as listener:  # doctest: +SKIP
    ...     listener.port
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_connections: int = 32,
        idle_timeout: float = 60.0,
        frame_timeout: float = 30.0,
        send_timeout: float = 10.0,
        poll_interval: float = 0.1,
    ) -> None:
        if max_connections < 1:
            raise InputError("max_connections must be positive")
        for name, value in (
            ("idle_timeout", idle_timeout),
            ("frame_timeout", frame_timeout),
            ("send_timeout", send_timeout),
            ("poll_interval", poll_interval),
        ):
            if not 0 < value <= 3600:
                raise InputError(f"{name} must be positive and finite")
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.max_message_bytes = max_message_bytes
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self.send_timeout = send_timeout
        self.poll_interval = poll_interval
        self.errors: collections.deque[SegurlinkError] = collections.deque(maxlen=100)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._server: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._lock = threading.Lock()
        self._counts = collections.Counter[str]()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the MLLP listener is already started")
        try:
            server = socket.create_server((self.host, self.requested_port), backlog=64)
        except OSError as exc:
            raise TransportError(
                f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror or exc}",
                url=f"mllp://{self.host}:{self.requested_port}",
            ) from exc
        server.settimeout(self.poll_interval)
        self._server = server
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="mllp-accept", daemon=True
        )
        self._accept_thread.start()
        logger.info("MLLP listener on %s:%s", self.host, self.port)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let the messages in hand be acknowledged, then close."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + timeout
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        server.close()
        for thread in self._threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            late = dict(self._connections)
        for thread, connection in late.items():  # still busy after the grace period
            _shutdown(connection)
            thread.join(1.0)
        self._server = None
        logger.info("MLLP listener stopped (%s)", dict(self._counts))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the MLLP listener is not started")
        return int(self._server.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def counts(self) -> dict[str, int]:
        """Connections accepted/refused, messages handled, connection errors so far."""
        return dict(self._counts)

    def _threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._connections)

    # -- serving ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                connection, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                time.sleep(self.poll_interval)  # e.g. EMFILE: do not spin
                continue
            if not self._slots.acquire(blocking=False):
                self._counts["refused"] += 1
                logger.warning(
                    "MLLP connection from %s refused: %d connections already",
                    peer[0],
                    self.max_connections,
                )
                _shutdown(connection)
                continue
            self._counts["accepted"] += 1
            thread = threading.Thread(
                target=self._serve, args=(connection, peer), name="mllp-connection", daemon=True
            )
            with self._lock:
                self._connections[thread] = connection
            thread.start()

    def _serve(self, connection: socket.socket, peer: tuple[str, int]) -> None:
        try:
            self._conversation(connection)
        except SegurlinkError as exc:
            self.errors.append(exc)
            self._counts[type(exc).__name__] += 1
            logger.warning(
                "MLLP connection from %s closed: %s: %s", peer[0], type(exc).__name__, exc.message
            )
        except OSError as exc:
            error = TransportError(f"MLLP connection failed: {type(exc).__name__}")
            self.errors.append(error)
            self._counts["TransportError"] += 1
            logger.warning("MLLP connection from %s closed: %s", peer[0], error.message)
        finally:
            _shutdown(connection)
            with self._lock:
                self._connections.pop(threading.current_thread(), None)
            self._slots.release()

    def _conversation(self, connection: socket.socket) -> None:
        connection.settimeout(self.poll_interval)
        reader = FrameReader(self.max_message_bytes)
        last_activity = time.monotonic()
        frame_started: float | None = None
        while True:
            if self._stopping.is_set() and not reader.in_frame:
                return
            now = time.monotonic()
            if frame_started is not None and now - frame_started > self.frame_timeout:
                raise TransportTimeout(f"MLLP frame not completed within {self.frame_timeout:g} s")
            if frame_started is None and now - last_activity > self.idle_timeout:
                raise TransportTimeout(f"no MLLP message within {self.idle_timeout:g} s")
            try:
                data = connection.recv(65536)
            except TimeoutError:
                continue
            if not data:
                if reader.in_frame:
                    raise MllpError("MLLP connection closed inside a frame")
                return
            messages = reader.feed(data)
            frame_started = (frame_started or now) if reader.in_frame else None
            if messages and reader.in_frame:
                frame_started = now
            for message in messages:
                self._counts["messages"] += 1
                try:
                    ack = self.handler(message)
                except Exception as exc:  # a handler bug must not kill the listener
                    raise TransportError(
                        f"the MLLP handler raised {type(exc).__name__}; no ACK sent"
                    ) from exc
                connection.settimeout(self.send_timeout)
                try:
                    connection.sendall(frame_message(ack))
                except TimeoutError:
                    raise TransportTimeout(
                        f"the peer did not take the ACK within {self.send_timeout:g} s"
                    ) from None
                connection.settimeout(self.poll_interval)
            last_activity = time.monotonic()


def _shutdown(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer
    connection.close()


class _StaleConnection(Exception):
    """The reused connection was closed by the peer before any byte of the ACK."""


class MllpClient:
    """Sends HL7 messages over MLLP and returns each ACK (raw bytes), on one connection.

    The connection is opened on the first :meth:`send` and kept; if the peer closed it in
    the meantime (nothing of the ACK received), it is reopened and the message sent again
    once. Errors: :class:`~segurlink.errors.TransportTimeout` (no connection within
    ``connect_timeout``, no complete ACK within ``ack_timeout``),
    :class:`~segurlink.errors.MllpError` (framing, ACK larger than
    ``max_message_bytes``), :class:`~segurlink.errors.TransportError` (refused, reset).
    Thread-safe: one message at a time on the connection.

    >>> with MllpClient("127.0.0.1", 2575) as client:  # doctest: +SKIP
    ...     ack = client.send(message_bytes)
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = 5.0,
        ack_timeout: float = 30.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if not (0 < connect_timeout <= 600 and 0 < ack_timeout <= 3600):
            raise InputError("MLLP timeouts must be positive and finite")
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.ack_timeout = ack_timeout
        self.max_message_bytes = max_message_bytes
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"mllp://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"MllpClient({self.url!r})"

    def send(self, message: bytes) -> bytes:
        """Send ``message`` (one HL7 message) and return the ACK frame's content."""
        data = frame_message(message)
        with self._lock:
            for attempt in (1, 2):
                reused = self._socket is not None
                sock = self._socket or self._connect()
                try:
                    sock.settimeout(self.ack_timeout)
                    sock.sendall(data)
                    return self._read_ack(sock)
                except _StaleConnection:
                    self._drop()
                    if not reused or attempt == 2:
                        raise TransportError(
                            "the MLLP peer closed the connection without an ACK", url=self.url
                        ) from None
                except (ConnectionResetError, BrokenPipeError) as exc:
                    self._drop()
                    if not reused or attempt == 2:
                        raise TransportError(
                            f"MLLP connection lost: {type(exc).__name__}", url=self.url
                        ) from exc
                except TimeoutError:
                    self._drop()
                    raise TransportTimeout(
                        f"no ACK within {self.ack_timeout:g} s", url=self.url
                    ) from None
                except OSError as exc:
                    self._drop()
                    raise TransportError(
                        f"MLLP exchange failed: {type(exc).__name__}", url=self.url
                    ) from exc
                except BaseException:
                    self._drop()
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except TimeoutError:
            raise TransportTimeout(
                f"no MLLP connection within {self.connect_timeout:g} s", url=self.url
            ) from None
        except OSError as exc:
            raise TransportError(
                f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}", url=self.url
            ) from exc
        self._socket = sock
        return sock

    def _drop(self) -> None:
        if self._socket is not None:
            _shutdown(self._socket)
            self._socket = None

    def _read_ack(self, sock: socket.socket) -> bytes:
        # One overall deadline: a peer trickling bytes cannot stretch the wait.
        deadline = time.monotonic() + self.ack_timeout
        reader = FrameReader(self.max_message_bytes)
        received = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                if received == 0:
                    raise _StaleConnection
                raise MllpError("the MLLP peer closed the connection inside the ACK frame")
            received += len(chunk)
            try:
                messages = reader.feed(chunk)
            except MllpError:
                self._drop()
                raise
            if messages:
                return messages[0]
