"""A PSC token endpoint answering HTTP 200 with something else than a JSON token is a
``MalformedResponse`` (the bug issue 10 found in the ROR client, checked here for PSC)."""

from __future__ import annotations

from typing import Any

import pytest

from segurlink.config import Settings
from segurlink.errors import HttpStatusError, MalformedResponse
from segurlink.psc import PscClient


@pytest.mark.parametrize("fault", ["non_soap_200", "truncated"])
def test_token_200_without_json_is_malformed(
    fault: str, psc_settings: Settings, psc_mock: Any
) -> None:
    with PscClient.from_settings(psc_settings) as client:
        request = client.authorization_request()  # discovery done, cached
        psc_mock.inject(fault)
        with pytest.raises(MalformedResponse):
            client.exchange_code("any-code", request)


def test_token_html_500_is_an_http_status_error(psc_settings: Settings, psc_mock: Any) -> None:
    with PscClient.from_settings(psc_settings) as client:
        request = client.authorization_request()
        psc_mock.inject("http500_html")
        with pytest.raises(HttpStatusError) as info:
            client.exchange_code("any-code", request)
    assert info.value.status == 500
