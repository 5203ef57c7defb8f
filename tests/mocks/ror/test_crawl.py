"""An independent client (requests + fhir.resources) crawls every resource type of the mock."""

from __future__ import annotations

from typing import Any

from segurlink_mocks.ror import CLIENT_ID, CLIENT_SECRET, RorMock

from tests.mocks.ror.crawl import TYPES, crawl


def test_every_resource_is_reachable_valid_and_linked(ror_mock: RorMock, segurlink_pki: Any) -> None:
    result = crawl(ror_mock.fhir_base, ror_mock.token_url, CLIENT_ID, CLIENT_SECRET,
                   str(segurlink_pki.ca), page_size=400)
    assert result.invalid == [] and result.duplicates == [] and result.dangling == []
    for kind in TYPES:
        assert result.counts[kind] == result.totals[kind] == ror_mock.data.count(kind) > 0
    categories = {c for k, c in result.categories if k == "Organization"}
    for code in ("500", "354", "460", "209", "183", "182", "246", "255", "437", "382", "252"):
        assert any(c.startswith(f"EG {code} ") for c in categories), code
