"""The pytest plugin as a DUI editor's test suite sees it: fixtures without any conftest."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_an_editors_test_suite_gets_the_insi_mock_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_editor="""
        from segurlink.identity import IdentityTraits
        from segurlink.insi import InsiClient
        from segurlink.errors import InsiFault
        import pytest

        def test_search(segurlink_mock_settings):
            with InsiClient.from_settings(segurlink_mock_settings) as insi:
                outcome = insi.search(IdentityTraits.from_input(
                    birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31"))
            assert outcome.identity.ins.value == "275126322074974"

        def test_fault(insi_mock, segurlink_mock_settings):
            insi_mock.inject("unavailable")
            with InsiClient.from_settings(segurlink_mock_settings) as insi:
                with pytest.raises(InsiFault) as info:
                    insi.search(IdentityTraits.from_input(
                        birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31"))
            assert info.value.is_temporary
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
