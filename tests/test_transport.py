"""The one transport: no request leaves without a finite timeout, whatever the session.

``requests`` has no default timeout: a session the caller builds (a proxy setup, a test
double) would wait for ever on a silent server unless every call passes one. PSC and ROR
once did not (issue 17); every HTTP client now sends through ``segurlink._transport``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from segurlink._transport import HttpTransport, Shape
from segurlink.config import Settings
from segurlink.dmp import DmpClient
from segurlink.errors import HttpStatusError, MalformedResponse, SegurlinkError, TransportTimeout
from segurlink.identity import IdentityTraits, Ins
from segurlink.insi import InsiClient
from segurlink.psc import PscClient
from segurlink.ror import RorClient
from segurlink.testing import (
    MissingTimeout,
    MockTransport,
    NoAnswer,
    Request,
    Response,
    Unreachable,
)

ADRUN = IdentityTraits.from_input(
    birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31"
)
INS = Ins("2751263220749", "74", "1.2.250.1.213.1.4.8")


def _finite(timeout: Any) -> bool:
    return (
        isinstance(timeout, tuple)
        and len(timeout) == 2
        and all(isinstance(t, int | float) and math.isfinite(t) and t > 0 for t in timeout)
    )


def _unavailable(request: Request) -> Response:
    return Response(503, "maintenance", headers={"Content-Type": "text/plain"})


def _exercise(client: Any, calls: list[Any]) -> None:
    with client:
        for call in calls:
            with pytest.raises(SegurlinkError):
                call(client)


def test_every_client_passes_the_settings_timeouts_on_an_injected_session(
    segurlink_mock_settings: Settings,
    dmp_settings: Settings,
    psc_settings: Settings,
    ror_settings: Settings,
) -> None:
    fake = MockTransport(_unavailable)
    cases: list[tuple[Settings, Any, list[Any]]] = [
        (
            segurlink_mock_settings,
            InsiClient.from_settings(segurlink_mock_settings, session=fake.session()),
            [lambda c: c.search(ADRUN)],
        ),
        (
            dmp_settings,
            DmpClient.from_settings(dmp_settings, session=fake.session()),
            [lambda c: c.check(INS), lambda c: c.find(INS)],
        ),
        (
            psc_settings,
            PscClient.from_settings(psc_settings, session=fake.session()),
            [lambda c: c.metadata()],
        ),
        (
            ror_settings,
            RorClient.from_settings(ror_settings, session=fake.session(), sleep=lambda s: None),
            [lambda c: c.token(), lambda c: c.organizations(finess="450000088").first()],
        ),
    ]
    for settings, client, calls in cases:
        before = len(fake.requests)
        _exercise(client, calls)
        sent = fake.requests[before:]
        assert sent, f"{type(client).__name__} sent nothing"
        assert {r.timeout for r in sent} == {settings.timeouts.as_tuple}, type(client).__name__


class RecordingAdapter(HTTPAdapter):
    """A plain requests adapter (no segurlink deadline) that notes each call's timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        return super().send(request, **kwargs)


def test_a_caller_session_on_the_wire_carries_finite_timeouts(
    ror_settings: Settings, psc_settings: Settings, segurlink_pki: Any
) -> None:
    recorder = RecordingAdapter()
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        session.mount("https://", recorder)
        with RorClient.from_settings(ror_settings, session=session) as ror:
            assert ror.organizations(finess="450000088").first() is not None
        with PscClient.from_settings(psc_settings, session=session) as psc:
            psc.metadata()
            psc.authorization_request()
        # The clients left the caller's session open.
        assert session.adapters["https://"] is recorder
    assert len(recorder.timeouts) >= 3
    assert all(_finite(t) for t in recorder.timeouts), recorder.timeouts


def test_a_request_without_timeout_fails_the_fake_service() -> None:
    fake = MockTransport(lambda request: Response(200))
    with pytest.raises(MissingTimeout):
        fake.session().get("https://service.invalid/")


def test_the_transport_checks_the_shape_of_soap_and_json_answers() -> None:
    def handler(request: Request) -> Response:
        if request.url.endswith("/soap-html"):
            return Response(200, "<html>portal</html>", headers={"Content-Type": "text/html"})
        if request.url.endswith("/soap-502"):
            return Response(
                502, "<p>bad gateway 275126322074974</p>", headers={"Content-Type": "text/html"}
            )
        if request.url.endswith("/json-html"):
            return Response(200, "<html/>", headers={"Content-Type": "text/html"})
        return Response(200, json={"ok": True})

    transport = HttpTransport("demo", "the demo", session=MockTransport(handler).session())
    with pytest.raises(MalformedResponse, match="the demo answered 200 with text/html, not SOAP"):
        transport.send("op", "POST", "https://d.invalid/soap-html", shape=Shape.SOAP)
    with pytest.raises(HttpStatusError) as info:
        transport.send("op", "POST", "https://d.invalid/soap-502", shape=Shape.MTOM)
    assert info.value.status == 502 and "275126322074974" not in info.value.body_excerpt
    with pytest.raises(MalformedResponse, match="without JSON"):
        transport.send("op", "GET", "https://d.invalid/json-html", shape=Shape.JSON)
    assert transport.send("op", "GET", "https://d.invalid/j", shape=Shape.JSON).json() == {
        "ok": True
    }


def test_transport_faults_of_the_fake_service_are_segurlink_errors() -> None:
    def handler(request: Request) -> Response:
        if "silent" in request.url:
            raise NoAnswer()
        raise Unreachable()

    transport = HttpTransport("demo", "the demo", session=MockTransport(handler).session())
    with pytest.raises(TransportTimeout):
        transport.send("op", "GET", "https://d.invalid/silent")
    with pytest.raises(SegurlinkError) as info:
        transport.send("op", "GET", "https://d.invalid/refused")
    assert info.value.is_transient


def test_a_transport_closes_only_the_session_it_built() -> None:
    closed: list[str] = []

    class Tracked(requests.Session):
        def close(self) -> None:
            closed.append("caller")
            super().close()

    injected = Tracked()
    HttpTransport("demo", "the demo", session=injected).close()
    assert closed == []
    own = HttpTransport("demo", "the demo")
    assert own.owns_session
    own.close()
