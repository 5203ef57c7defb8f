"""Every search parameter of the ROR consumer CapabilityStatement: evaluated by the mock
(each result checked independently) or refused with a 400 naming it. The table itself is
printed by ``python -m tests.mocks.ror.capability``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from segurlink_mocks.ror import CLIENT_ID, CLIENT_SECRET, RorMock

from tests.conftest import shared_path
from tests.mocks.ror.capability import (
    CASES,
    Mock,
    check_param,
    consumer_params,
    result_params,
)


@pytest.fixture(scope="module")
def statement() -> dict[str, Any]:
    path = shared_path("ror-samples", "CapabilityStatement-ror-consommateur.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def mock(ror_mock: RorMock, segurlink_pki: Any) -> Mock:
    return Mock(ror_mock.fhir_base, ror_mock.token_url, CLIENT_ID, CLIENT_SECRET,
                str(segurlink_pki.ca))


def test_every_parameter_is_evaluated_or_refused_by_name(
    statement: dict[str, Any], mock: Mock
) -> None:
    params = consumer_params(statement)
    assert len(params) > 70
    rows = [check_param(mock, *p) for p in params]
    wrong = [r for r in rows if r.verdict not in ("implemented", "400")]
    assert not wrong, wrong
    refused = {(r.resource, r.param) for r in rows if r.verdict == "400"}
    assert refused == {("Location", "_filter"), ("HealthcareService", "_filter"),
                       ("Task", "_id"), ("Task", "_content")}
    # Every case written here is a parameter of the statement (no stale case).
    assert set(CASES) <= {(kind, name) for kind, name, _ in params}


def test_result_parameters(statement: dict[str, Any], mock: Mock) -> None:
    rows = result_params(mock, statement)
    assert {r.param for r in rows} == {"_count", "_sort", "_include", "_revinclude",
                                       "_elements", "_summary"}
    assert all(r.verdict == "implemented" for r in rows), rows
