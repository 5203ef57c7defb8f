"""The fixtures raise a crash of the mock in the test that caused it (at its teardown)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_a_crash_inside_the_mock_fails_the_test_that_caused_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_editor="""
        import requests

        def _post(mock, pki):
            return requests.post(
                mock.endpoint,
                data=b"<a/>",
                headers={"Content-Type": "application/soap+xml; charset=utf-8"},
                cert=pki.client("insi-auto").as_requests_cert(),
                verify=str(pki.ca),
                timeout=10,
            )

        def test_meets_a_bug_of_the_mock(insi_mock, segurlink_pki, monkeypatch):
            def broken(*args):
                raise LookupError("a bug in the INSi mock")

            monkeypatch.setattr(insi_mock, "_process", broken)
            assert _post(insi_mock, segurlink_pki).status_code == 500  # the test sees a 500...

        def test_after_it_is_clean(insi_mock, segurlink_pki):
            assert _post(insi_mock, segurlink_pki).status_code == 500  # a SOAP fault, no crash
            assert insi_mock.requests[-1].details["fault_detail"] == "insi_101"
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)  # ...and fails at teardown, with the cause
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_meets_a_bug_of_the_mock*"])
    result.stdout.fnmatch_lines(["*LookupError: a bug in the INSi mock*"])
