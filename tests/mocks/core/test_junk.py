"""Junk on every route of every mock is refused in the service's words, never a crash.

Each route of each mock gets each method with bodies a client bug or a hostile peer might
send (nothing, binary, JSON of the wrong shape, XML, a form, a huge header value...). The
mock answers whatever the service would, but no exception may escape its handler: the
fixture's ``check_handler_errors()`` at teardown would fail the test, and the assertion
below names the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from segurlink_mocks import MockService, TestPki

MOCKS = ["insi_mock", "dmp_mock", "psc_mock", "ror_mock", "mss_mock", "annuaire_mock"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
BODIES: list[tuple[str, bytes]] = [
    ("", b""),
    ("application/octet-stream", b"\x00\xff\xfe garbage \x80"),
    ("application/json", b'{"a": [1, {"b": null}], "grant_type": 3}'),
    ("application/json", b"[" * 5000),
    ("application/soap+xml; charset=utf-8", b"<x:Envelope xmlns:x='urn:x'><x:Body/></x:Envelope>"),
    ("text/xml", b"<?xml version='1.0'?><a>&lt;</a>"),
    ("multipart/related; boundary=b", b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"),
    ("application/x-www-form-urlencoded", b"grant_type=refresh_token&refresh_token=&code=%ff"),
    ("application/fhir+json", b'{"resourceType": "Parameters", "parameter": [{}]}'),
]
HEADERS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer junk"},
    {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + "YTpi" * 2000},
]


@pytest.fixture
def session(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False
        http.verify = str(segurlink_pki.ca)
        http.cert = segurlink_pki.client("insi-auto").as_requests_cert()
        yield http


def _paths(mock: MockService) -> list[str]:
    paths = {re.sub(r"<(?:\w+:)?\w+>", "x", route.path) for route in mock.routes()}
    return sorted(paths | {"/", "/nowhere"})


@pytest.mark.parametrize("fixture", MOCKS)
def test_junk_on_every_route_is_answered_without_a_handler_error(
    fixture: str, request: pytest.FixtureRequest, session: requests.Session
) -> None:
    mock: MockService = request.getfixturevalue(fixture)
    statuses: dict[int, int] = {}
    for path in _paths(mock):
        for method in METHODS:
            for (content_type, body), headers in zip(
                BODIES, HEADERS * len(BODIES), strict=False
            ):
                sent: dict[str, Any] = dict(headers)
                if content_type:
                    sent["Content-Type"] = content_type
                answer = session.request(
                    method, mock.url + path, data=body, headers=sent, params={"q": "%"}, timeout=10
                )
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                assert mock.handler_errors == [], (method, path, content_type, headers)
    assert statuses, "nothing was sent"
