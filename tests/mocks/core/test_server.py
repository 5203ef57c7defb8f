"""The server every mock runs on, held with a small mock of its own: keep-alive, routing,
faults around the handler, handler errors raised in the test, a quick stop."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest
import requests
from segurlink_mocks import (
    Chain,
    Exchange,
    FaultCatalog,
    Latency,
    MockService,
    Reset,
    Route,
    ServiceFault,
    TestPki,
    Trickle,
)
from segurlink_mocks._core.faults import HTTP_FAULTS
from werkzeug.wrappers import Request, Response


class EchoMock(MockService):
    """A mock of nothing: echoes bodies, says which service fault it got, crashes on demand."""

    name: ClassVar[str] = "echo"
    fault_catalog: ClassVar[FaultCatalog] = HTTP_FAULTS.with_service("teapot")

    def __init__(self, pki: TestPki, **options: Any) -> None:
        super().__init__(pki, **options)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.resets = 0

    def routes(self) -> Sequence[Route]:
        return [
            Route("/echo", "echo", self._echo, ("POST",)),
            Route("/items/<item>", "item", self._item, ("GET",)),
            Route("/stream", "stream", self._stream, ("GET",)),
            Route("/crash", "crash", self._crash),
            Route("/late-crash", "late-crash", self._late_crash),
            Route("/token", "token", self._item_free, takes_faults=False),
        ]

    def control_routes(self) -> Sequence[Route]:
        return [Route("/echo/strict", "strict", self._strict, ("POST",))]

    def respond(
        self, route: Route, request: Request, exchange: Exchange, arguments: Mapping[str, Any]
    ) -> Response:
        exchange.details["route"] = route.name
        return super().respond(route, request, exchange, arguments)

    def reset(self) -> None:
        super().reset()
        self.resets += 1

    def _echo(self, request: Request, exchange: Exchange) -> Response:
        if exchange.has_fault("teapot"):
            return Response("teapot\n", status=418)
        return Response(request.get_data(), content_type="application/octet-stream")

    def _item(self, request: Request, exchange: Exchange, item: str) -> Response:
        return Response(f"item {item}\n", content_type="text/plain")

    def _item_free(self, request: Request, exchange: Exchange) -> Response:
        return Response("token\n", content_type="text/plain")

    def _stream(self, request: Request, exchange: Exchange) -> Response:
        return Response(iter([b"one ", b"two ", b"three\n"]), content_type="text/plain")

    def _crash(self, request: Request, exchange: Exchange) -> Response:
        raise KeyError("a bug in the mock")

    def _late_crash(self, request: Request, exchange: Exchange) -> Response:
        self.entered.set()
        self.release.wait(10)
        raise RuntimeError("a crash after the test that caused it")

    def _strict(self, request: Request) -> Response:
        raise ValueError("strict mode is not a thing")


@pytest.fixture
def echo(segurlink_pki: TestPki) -> Iterator[EchoMock]:
    mock = EchoMock(segurlink_pki).start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def https(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        session.cert = segurlink_pki.client("insi-auto").as_requests_cert()
        yield session


def _connection(mock: MockService, pki: TestPki) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(pki.ca))
    client = pki.client("insi-auto")
    context.load_cert_chain(str(client.cert), str(client.key))
    return http.client.HTTPSConnection("127.0.0.1", mock.port, context=context, timeout=10)


def _exchange(
    conn: http.client.HTTPSConnection, method: str, path: str, body: bytes | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(method, path, body=body)
    response = conn.getresponse()
    return response, response.read()


# -- keep-alive -------------------------------------------------------------------------------


def test_requests_on_one_connection_pay_one_tls_handshake(
    echo: EchoMock, segurlink_pki: TestPki
) -> None:
    conn = _connection(echo, segurlink_pki)
    try:
        sockets = set()
        for n in range(5):
            response, body = _exchange(conn, "POST", "/echo", f"body {n}".encode())
            assert (response.status, body) == (200, f"body {n}".encode())
            assert response.getheader("Connection") is None
            sockets.add(id(conn.sock))
        response, body = _exchange(conn, "GET", "/stream")  # no length: chunked, kept
        assert (response.getheader("Transfer-Encoding"), body) == ("chunked", b"one two three\n")
        sockets.add(id(conn.sock))
        response, body = _exchange(conn, "POST", "/nowhere", b"x" * 100_000)  # body unread
        assert response.status == 404
        response, body = _exchange(conn, "GET", "/items/42")
        assert body == b"item 42\n"
        sockets.add(id(conn.sock))
    finally:
        conn.close()
    assert len(sockets) == 1
    assert echo.request_count == 8


def test_without_keep_alive_every_answer_closes_its_connection(segurlink_pki: TestPki) -> None:
    with EchoMock(segurlink_pki, keep_alive=False) as mock:
        conn = _connection(mock, segurlink_pki)
        try:
            response, _ = _exchange(conn, "POST", "/echo", b"one")
            assert response.getheader("Connection") == "close"
            assert conn.sock is None  # http.client closed it, as the answer said
            response, body = _exchange(conn, "POST", "/echo", b"two")  # a new connection
            assert body == b"two"
        finally:
            conn.close()


def test_a_client_asking_to_close_gets_its_connection_closed(
    echo: EchoMock, segurlink_pki: TestPki
) -> None:
    conn = _connection(echo, segurlink_pki)
    try:
        conn.request("GET", "/items/1", headers={"Connection": "close"})
        response = conn.getresponse()
        assert response.getheader("Connection") == "close"
        assert response.read() == b"item 1\n"
    finally:
        conn.close()


# -- routing ----------------------------------------------------------------------------------


def test_routes_dispatch_by_path_and_method(echo: EchoMock, https: requests.Session) -> None:
    assert https.get(echo.url + "/items/abc", timeout=5).text == "item abc\n"
    assert https.get(echo.url + "/items/abc/", timeout=5).text == "item abc\n"
    missing = https.get(echo.url + "/items", timeout=5)
    assert missing.status_code == 404
    wrong = https.get(echo.url + "/echo", timeout=5)
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    assert [r.details.get("route") for r in echo.requests] == ["item", "item", None, None]


# -- faults -----------------------------------------------------------------------------------


def test_faults_apply_around_the_handler_one_request_each(
    echo: EchoMock, https: requests.Session
) -> None:
    echo.inject("latency:0.2+truncated")
    echo.inject(Trickle(0.01))
    echo.inject("teapot")
    echo.inject(Reset())
    started = time.monotonic()
    cut = https.post(echo.url + "/echo", data=b"0123456789", timeout=5)
    assert time.monotonic() - started >= 0.2
    assert (cut.status_code, cut.content) == (200, b"01234")
    slow = https.post(echo.url + "/echo", data=b"abcdefghij" * 10, timeout=5)
    assert slow.content == b"abcdefghij" * 10
    assert https.post(echo.url + "/echo", data=b"x", timeout=5).status_code == 418
    with pytest.raises(requests.ConnectionError):
        https.post(echo.url + "/echo", data=b"x", timeout=5)
    assert https.post(echo.url + "/echo", data=b"again", timeout=5).content == b"again"
    assert [r.fault for r in echo.requests] == [
        "latency:0.2+truncated",
        "trickle:0.01",
        "teapot",
        "reset",
        None,
    ]
    assert [r.status for r in echo.requests] == [200, 200, 418, 0, 200]


def test_a_route_that_takes_no_faults_leaves_them_for_the_next_call(
    echo: EchoMock, https: requests.Session
) -> None:
    echo.inject(Chain((Latency(0.0), ServiceFault("teapot"))))
    assert https.get(echo.url + "/token", timeout=5).status_code == 200
    assert echo.faults == [("latency:0+teapot", 1)]
    assert https.post(echo.url + "/echo", data=b"x", timeout=5).status_code == 418
    assert echo.faults == []


def test_an_unknown_fault_is_refused_at_injection(echo: EchoMock) -> None:
    with pytest.raises(ValueError, match=r"unknown fault 'tecnical'; known: .*teapot"):
        echo.inject("tecnical")
    with pytest.raises(ValueError, match="count"):
        echo.inject("teapot", count=0)
    assert echo.faults == []


# -- handler errors ---------------------------------------------------------------------------


def test_a_handler_crash_answers_500_and_is_raised_in_the_test(
    echo: EchoMock, https: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    answer = https.get(echo.url + "/crash", timeout=5)
    assert answer.status_code == 500
    assert "a bug in the mock" not in answer.text  # no traceback or message to the client
    assert "KeyError" in caplog.text and "a bug in the mock" not in caplog.text
    assert [type(e) for e in echo.handler_errors] == [KeyError]
    with pytest.raises(KeyError, match="a bug in the mock"):
        echo.check_handler_errors()
    echo.check_handler_errors()  # raised once, then forgotten
    https.get(echo.url + "/crash", timeout=5)
    echo.reset()  # a new test starts clean
    echo.check_handler_errors()


def test_leaving_the_with_block_raises_a_handler_crash(
    segurlink_pki: TestPki, https: requests.Session
) -> None:
    with pytest.raises(KeyError), EchoMock(segurlink_pki) as mock:
        assert https.get(mock.url + "/crash", timeout=5).status_code == 500
    with pytest.raises(ZeroDivisionError), EchoMock(segurlink_pki) as mock:
        https.get(mock.url + "/crash", timeout=5)
        1 / 0  # the block's own error wins  # noqa: B018


def test_a_crash_of_a_request_from_before_the_reset_is_not_this_tests(
    echo: EchoMock, https: requests.Session
) -> None:
    caller = threading.Thread(
        target=lambda: https.get(echo.url + "/late-crash", timeout=10), daemon=True
    )
    caller.start()
    assert echo.entered.wait(5)
    echo.reset()  # the next test starts while the earlier request is still in the handler
    echo.release.set()
    caller.join(10)
    assert echo.handler_errors == []
    assert echo.requests == []


# -- control endpoint -------------------------------------------------------------------------


def test_the_control_endpoint_parses_faults_once_and_mounts_the_mock_routes(
    echo: EchoMock, https: requests.Session
) -> None:
    control = echo.url + "/_mock/"
    bad = https.post(control + "faults", json={"fault": "latency:1+tecnical"}, timeout=5)
    assert bad.status_code == 400
    assert "unknown fault 'tecnical'" in bad.json()["error"]
    assert "teapot" in bad.json()["error"]
    made = https.post(control + "faults", json={"fault": "latency:0+teapot", "count": 2}, timeout=5)
    assert made.status_code == 201
    assert made.json() == {"faults": [{"fault": "latency:0+teapot", "remaining": 2}]}
    assert (
        https.post(control + "faults", json={"fault": "reset", "count": "2"}, timeout=5)
        .json()["error"]
        .startswith("count must be")
    )
    assert https.post(echo.url + "/echo", data=b"x", timeout=5).status_code == 418
    strict = https.post(control + "echo/strict", timeout=5)
    assert (strict.status_code, strict.json()) == (400, {"error": "strict mode is not a thing"})
    assert https.get(control + "echo/strict", timeout=5).status_code == 405
    assert https.get(control + "nothing", timeout=5).status_code == 404
    assert https.post(control + "reset", timeout=5).json() == {"reset": True}
    assert echo.resets == 1 and echo.faults == []
    assert echo.handler_errors == []


def test_the_control_endpoint_wants_a_client_certificate(segurlink_pki: TestPki) -> None:
    with EchoMock(segurlink_pki, require_client_cert=False) as mock:
        answer = requests.get(mock.url + "/_mock/faults", verify=str(segurlink_pki.ca), timeout=5)
    assert answer.status_code == 403


# -- stop -------------------------------------------------------------------------------------


def test_stop_is_quick_with_idle_connections_and_sleeping_requests(
    segurlink_pki: TestPki, https: requests.Session
) -> None:
    mock = EchoMock(segurlink_pki).start()
    idle = _connection(mock, segurlink_pki)
    try:
        _exchange(idle, "GET", "/items/1")  # kept open, idle
        mock.inject(Latency(60))
        dropped: list[BaseException] = []

        def sleep_in_the_mock() -> None:
            try:
                https.post(mock.url + "/echo", data=b"x", timeout=30)
            except requests.ConnectionError as exc:
                dropped.append(exc)

        sleeper = threading.Thread(target=sleep_in_the_mock, daemon=True)
        sleeper.start()
        time.sleep(0.3)
        started = time.monotonic()
        mock.stop()
        assert time.monotonic() - started < 2
        sleeper.join(5)
        assert not sleeper.is_alive() and len(dropped) == 1  # dropped, not answered
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            _exchange(idle, "GET", "/items/2")  # the stopped mock answers nothing more
    finally:
        idle.close()
        mock.stop()
