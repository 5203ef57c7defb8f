"""MLLP framing, the listener and the client, with peers written with raw sockets and with
python-hl7's own MLLP client. Every wait is bounded; no test relies on timing to pass
except that a timeout must fire before the test's own (larger) socket timeout."""

from __future__ import annotations

import datetime
import socket
import threading
import time
from collections.abc import Callable, Iterator

import hl7.client
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segurlink.errors import InputError, MllpError, TransportError, TransportTimeout
from segurlink.hl7 import AckCode, MllpClient, MllpListener, build_ack, parse_ack, parse_message
from segurlink.hl7.mllp import FrameReader, frame_message
from tests.hl7.conftest import adt

VT, FS, CR = b"\x0b", b"\x1c", b"\r"


def ack_for(message: bytes) -> bytes:
    header = parse_message(message).header
    return build_ack(header, AckCode.AA, control_id="A1", now=datetime.datetime(2024, 1, 1))


def recv_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything until the peer closes (or ``timeout``: then the test fails)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def recv_frame(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(FS + CR):
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a whole frame"
        data += chunk
    return data


@pytest.fixture
def listen() -> Iterator[Callable[..., MllpListener]]:
    started: list[MllpListener] = []

    def start(handler: Callable[[bytes], bytes] = ack_for, **options: object) -> MllpListener:
        listener = MllpListener(handler, port=0, **options)  # type: ignore[arg-type]
        started.append(listener.start())
        return listener

    yield start
    for listener in started:
        listener.stop(timeout=2)


def connect(listener: MllpListener) -> socket.socket:
    return socket.create_connection(listener.address, timeout=5)


def wait_for_error(listener: MllpListener, kind: type[Exception], within: float = 5.0) -> Exception:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for error in list(listener.errors):
            if isinstance(error, kind):
                return error
        time.sleep(0.02)
    raise AssertionError(f"no {kind.__name__} recorded; errors: {list(listener.errors)!r}")


# -- frames ---------------------------------------------------------------------------------


messages_strategy = st.lists(
    st.binary(max_size=50).map(lambda b: b.replace(VT, b"v").replace(FS, b"f")), max_size=5
)


@given(messages_strategy, st.lists(st.integers(min_value=1, max_value=17), max_size=30))
def test_frames_cut_anywhere_give_the_same_messages(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"\r\n".join(frame_message(m) for m in messages)
    reader = FrameReader(max_message_bytes=64)
    received: list[bytes] = []
    position = 0
    for size in [*cuts, len(stream)]:
        received += reader.feed(stream[position : position + size])
        position += size
    assert received == messages
    assert not reader.in_frame


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"MSH|...", "data outside an MLLP frame (expected the start block 0x0B)"),
        (b"\r\n \tMSH", "data outside an MLLP frame (expected the start block 0x0B)"),
        (b"\x0bMSH\x0b", "MLLP start block 0x0B inside a frame"),
        (b"\x0bMSH\x1c\n", "MLLP end block 0x1C is not followed by a carriage return"),
        (b"\x0b" + b"x" * 11, "MLLP frame larger than the limit of 10 bytes"),
    ],
    ids=["outside", "outside-after-blanks", "nested-start", "lf-not-cr", "too-large"],
)
def test_each_framing_error_says_what_broke(stream: bytes, message: str) -> None:
    with pytest.raises(MllpError) as info:
        FrameReader(max_message_bytes=10).feed(stream)
    assert str(info.value) == message


def test_the_reader_says_whether_a_frame_is_open() -> None:
    reader = FrameReader()
    assert reader.in_frame is False
    assert reader.feed(b"\x0bMSH") == [] and reader.in_frame is True
    assert reader.feed(b"|a\x1c") == [b"MSH|a"] and reader.in_frame is True  # the CR is due
    assert reader.feed(b"\r") == [] and reader.in_frame is False


def test_the_smallest_limit_is_one_byte() -> None:
    assert FrameReader(max_message_bytes=1).feed(b"\x0bx\x1c\r") == [b"x"]
    with pytest.raises(InputError) as info:
        FrameReader(max_message_bytes=0)
    assert str(info.value) == "max_message_bytes must be positive"


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    assert FrameReader(max_message_bytes=10).feed(b"\x0b" + b"x" * 10 + b"\x1c\r") == [b"x" * 10]


def test_message_with_block_characters_cannot_be_framed() -> None:
    for message in (b"MSH\x1c", b"\x0bMSH"):
        with pytest.raises(MllpError) as info:
            frame_message(message)
        assert str(info.value) == (
            "an HL7 message cannot contain the MLLP block characters 0x0B/0x1C"
        )


# -- listener -------------------------------------------------------------------------------


def test_python_hl7_mllp_client_talks_to_the_listener(listen: Callable[..., MllpListener]) -> None:
    listener = listen()
    with hl7.client.MLLPClient("127.0.0.1", listener.port) as client:
        raw = client.send_message(adt(control_id="PYHL7-1"))
        second = client.send_message(adt(control_id="PYHL7-2"))
    ack = parse_ack(raw.strip(VT + FS + CR))
    assert (ack.code, ack.acknowledged_id) == (AckCode.AA, "PYHL7-1")
    assert parse_ack(second.strip(VT + FS + CR)).acknowledged_id == "PYHL7-2"
    assert listener.counts["messages"] == 2


def test_pipelined_messages_get_their_acks_in_order(listen: Callable[..., MllpListener]) -> None:
    listener = listen()
    with connect(listener) as sock:
        sock.sendall(b"".join(frame_message(adt(control_id=f"P{i}").encode()) for i in range(3)))
        sock.settimeout(5)
        data = b""
        while data.count(FS + CR) < 3:  # the ACKs may come in one recv or several
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
        acks = [parse_ack(frame.strip(VT)) for frame in data.split(FS + CR)[:3]]
    assert [a.acknowledged_id for a in acks] == ["P0", "P1", "P2"]


def test_several_connections_are_served_at_once(listen: Callable[..., MllpListener]) -> None:
    barrier = threading.Barrier(3, timeout=5)

    def handler(message: bytes) -> bytes:
        barrier.wait()  # passes only when three handlers run at the same time
        return ack_for(message)

    listener = listen(handler)
    results: list[str] = []

    def client(i: int) -> None:
        with MllpClient("127.0.0.1", listener.port, ack_timeout=10) as c:
            results.append(parse_ack(c.send(adt(control_id=f"C{i}").encode())).acknowledged_id)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == ["C0", "C1", "C2"]


def test_connections_beyond_the_limit_are_closed(listen: Callable[..., MllpListener]) -> None:
    listener = listen(max_connections=1)
    with connect(listener) as first:
        first.sendall(frame_message(adt().encode()))
        recv_frame(first)
        with connect(listener) as second:
            assert recv_all(second) == b""
    assert listener.counts["refused"] == 1


def test_garbage_outside_a_frame_closes_the_connection(listen: Callable[..., MllpListener]) -> None:
    listener = listen()
    with connect(listener) as sock:
        sock.sendall(b"MSH|^~\\&|not framed\r")
        assert recv_all(sock) == b""
    assert "outside an MLLP frame" in str(wait_for_error(listener, MllpError))


def test_oversize_message_is_refused_before_it_is_all_read(
    listen: Callable[..., MllpListener],
) -> None:
    listener = listen(max_message_bytes=1000)
    with connect(listener) as sock:
        sock.sendall(VT + b"x" * 1001)
        assert recv_all(sock) == b""
    assert "larger than the limit of 1000 bytes" in str(wait_for_error(listener, MllpError))
    assert listener.counts.get("messages", 0) == 0


def test_silent_half_open_connection_is_closed_after_the_idle_timeout(
    listen: Callable[..., MllpListener],
) -> None:
    listener = listen(idle_timeout=0.3)
    with connect(listener) as sock:
        assert recv_all(sock, timeout=5) == b""  # closed by the listener, well before 5 s
    assert "no MLLP message within 0.3 s" in str(wait_for_error(listener, TransportTimeout))


def test_trickling_frame_is_cut_at_the_frame_timeout(listen: Callable[..., MllpListener]) -> None:
    listener = listen(frame_timeout=0.4, idle_timeout=30)
    with connect(listener) as sock:
        sock.sendall(VT + b"MSH")
        closed = False
        for _ in range(100):  # one byte every 50 ms: never idle, never a whole frame
            try:
                sock.sendall(b"|")
            except OSError:
                closed = True
                break
            time.sleep(0.05)
        assert closed or recv_all(sock) == b""
    assert "frame not completed within 0.4 s" in str(wait_for_error(listener, TransportTimeout))


def test_connection_closed_inside_a_frame(listen: Callable[..., MllpListener]) -> None:
    listener = listen()
    with connect(listener) as sock:
        sock.sendall(VT + b"MSH|^~\\&|half")
    assert "closed inside a frame" in str(wait_for_error(listener, MllpError))


def test_failing_handler_closes_only_its_connection(listen: Callable[..., MllpListener]) -> None:
    def handler(message: bytes) -> bytes:
        if b"BOOM" in message:
            raise RuntimeError("bug")
        return ack_for(message)

    listener = listen(handler)
    with connect(listener) as sock:
        sock.sendall(frame_message(adt(control_id="BOOM").encode()))
        assert recv_all(sock) == b""
    assert "handler raised RuntimeError" in str(wait_for_error(listener, TransportError))
    with MllpClient("127.0.0.1", listener.port) as client:
        assert parse_ack(client.send(adt(control_id="OK").encode())).acknowledged_id == "OK"


def test_stop_lets_the_message_in_hand_be_acknowledged(listen: Callable[..., MllpListener]) -> None:
    started = threading.Event()

    def slow(message: bytes) -> bytes:
        started.set()
        time.sleep(0.5)
        return ack_for(message)

    listener = listen(slow)
    port = listener.port
    with connect(listener) as sock:
        sock.sendall(frame_message(adt(control_id="LAST").encode()))
        assert started.wait(5)
        stopper = threading.Thread(target=listener.stop, kwargs={"timeout": 5})
        stopper.start()
        ack = parse_ack(recv_frame(sock).strip(VT + FS + CR))
        assert recv_all(sock) == b""  # then the connection is closed
        stopper.join(5)
    assert ack.acknowledged_id == "LAST"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_listening_on_a_busy_port_is_a_transport_error(listen: Callable[..., MllpListener]) -> None:
    busy = listen()
    with pytest.raises(TransportError, match="cannot listen"):
        MllpListener(ack_for, port=busy.port).start()


# -- client ---------------------------------------------------------------------------------


class RawServer:
    """A TCP server whose behaviour per connection is a function of the socket."""

    def __init__(self, behaviour: Callable[[socket.socket, int], None]) -> None:
        self.behaviour = behaviour
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn:
            try:
                self.behaviour(conn, number)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self.server.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(behaviour: Callable[[socket.socket, int], None]) -> RawServer:
        servers.append(RawServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def read_one_frame(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    while FS + CR not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


ACK = frame_message(b"MSH|^~\\&|R||||2024||ACK|1|P|2.5\rMSA|AA|MSG0001\r")


def test_client_times_out_when_no_ack_comes(raw_server) -> None:  # type: ignore[no-untyped-def]
    server = raw_server(lambda conn, n: (read_one_frame(conn), time.sleep(3)))  # type: ignore[func-returns-value]
    client = MllpClient("127.0.0.1", server.port, ack_timeout=0.3)
    # The server closes after 3 s: a client without its own deadline would see that close.
    with pytest.raises(TransportTimeout, match=r"no ACK within 0\.3 s"):
        client.send(adt().encode())


def test_client_deadline_holds_against_a_trickling_ack(raw_server) -> None:  # type: ignore[no-untyped-def]
    def trickle(conn: socket.socket, n: int) -> None:
        read_one_frame(conn)
        for byte in ACK[:-2]:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    server = raw_server(trickle)
    client = MllpClient("127.0.0.1", server.port, ack_timeout=0.4)
    with pytest.raises(TransportTimeout):
        client.send(adt().encode())


def test_client_refuses_a_broken_or_oversize_ack(raw_server) -> None:  # type: ignore[no-untyped-def]
    broken = raw_server(lambda conn, n: (read_one_frame(conn), conn.sendall(b"ACK not framed")))
    with pytest.raises(MllpError, match="outside an MLLP frame"):
        MllpClient("127.0.0.1", broken.port).send(adt().encode())
    big = raw_server(lambda conn, n: (read_one_frame(conn), conn.sendall(VT + b"x" * 5000)))
    with pytest.raises(MllpError, match="larger than the limit"):
        MllpClient("127.0.0.1", big.port, max_message_bytes=1000).send(adt().encode())


def test_client_connection_refused_is_a_transport_error() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(TransportError, match="cannot connect") as info:
        MllpClient("127.0.0.1", port, connect_timeout=1).send(adt().encode())
    assert not isinstance(info.value, TransportTimeout)


def test_client_reconnects_once_when_the_kept_connection_was_closed(raw_server) -> None:  # type: ignore[no-untyped-def]
    def one_ack_then_close(conn: socket.socket, n: int) -> None:
        read_one_frame(conn)
        conn.sendall(ACK)

    server = raw_server(one_ack_then_close)
    with MllpClient("127.0.0.1", server.port) as client:
        assert parse_ack(client.send(adt().encode())).code is AckCode.AA
        time.sleep(0.1)  # the server has closed the kept connection
        assert parse_ack(client.send(adt().encode())).code is AckCode.AA
    assert server.connections == 2


def test_client_fresh_connection_closed_without_ack_is_an_error(raw_server) -> None:  # type: ignore[no-untyped-def]
    server = raw_server(lambda conn, n: read_one_frame(conn))
    with pytest.raises(TransportError, match="closed the connection without an ACK"):
        MllpClient("127.0.0.1", server.port).send(adt().encode())
    assert server.connections == 1
