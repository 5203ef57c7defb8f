"""A request body over the mocks' 16 MiB limit gets a 413 in the service's own error format
(SOAP fault for INSi and the DMP, OAuth error for PSC, OperationOutcome for the ROR), never
werkzeug's HTML 500 page and its traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import etree
from segurlink_mocks._core.server import MAX_REQUEST_BODY

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
OVER = MAX_REQUEST_BODY + 1024 * 1024


def _session(pki: Any) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(pki.ca)
    session.cert = pki.client("insi-auto").as_requests_cert()
    return session


def _chunks(total: int) -> Iterator[bytes]:
    piece = b"x" * (1024 * 1024)
    for _ in range(total // len(piece)):
        yield piece


def _soap_fault(response: requests.Response) -> etree._Element:
    root = etree.fromstring(response.content)
    fault = root.find(f".//{{{SOAP12}}}Fault")
    assert fault is not None
    return fault


def _check_insi(response: requests.Response) -> None:
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    fault = _soap_fault(response)
    assert "16777216" in "".join(fault.itertext())


def _check_dmp(response: requests.Response) -> None:
    _check_insi(response)


def _check_psc(response: requests.Response) -> None:
    assert response.json()["error"] == "invalid_request"


def _check_ror(response: requests.Response) -> None:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-long"


CASES = {
    "insi": ("insi_mock", lambda m: m.endpoint, _check_insi),
    "dmp": ("dmp_mock", lambda m: m.endpoint + "/registry", _check_dmp),
    "psc": ("psc_mock", lambda m: m.issuer + "/protocol/openid-connect/token", _check_psc),
    "ror": ("ror_mock", lambda m: m.token_url, _check_ror),
}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("service", sorted(CASES))
def test_body_over_the_limit_is_a_413_in_the_service_format(
    service: str,
    chunked: bool,
    request: pytest.FixtureRequest,
    segurlink_pki: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fixture, url_of, check = CASES[service]
    mock = request.getfixturevalue(fixture)
    mock.clear_requests()
    body: Any = _chunks(OVER) if chunked else b"x" * OVER
    caplog.set_level(logging.DEBUG, logger="segurlink_mocks")
    with _session(segurlink_pki) as session:
        response = session.post(
            url_of(mock),
            data=body,
            headers={"Content-Type": "application/soap+xml"},
            timeout=30,
        )
    assert response.status_code == 413
    check(response)
    assert [r.status for r in mock.requests] == [413]
    assert mock.requests[0].details.get("error") == "payload-too-large"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback" not in logged and "Error on request" not in logged
    # The mock still serves normally afterwards.
    with _session(segurlink_pki) as session:
        assert session.get(url_of(mock), timeout=10).status_code != 413


def test_body_at_the_limit_is_read(ror_mock: Any, segurlink_pki: Any) -> None:
    with _session(segurlink_pki) as session:
        response = session.post(
            ror_mock.token_url,
            data={"grant_type": "client_credentials", "pad": "x" * 1000},
            timeout=10,
        )
    assert response.status_code != 413
    assert json.loads(response.content)
