"""The two pytest fixtures every mock has, written once.

``<name>_session`` (session scope) is one server for the whole run; ``<name>`` (function
scope) is that server prepared for the test (by default :meth:`MockService.reset`) and, at
teardown, :meth:`MockService.check_handler_errors`: an exception inside the mock's
handler fails the test that caused it, instead of a 500 nobody reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..pki import TestPki
    from .service import MockService

__all__ = ["mock_fixtures"]


def _reset(mock: MockService) -> None:
    mock.reset()


def mock_fixtures(
    name: str,
    mock_class: str,
    *,
    prepare: Callable[[Any], None] = _reset,
    doc: str,
) -> tuple[Any, Any]:
    """``(<name>_session, <name>)`` fixtures for ``mock_class(pki)`` (``"module:Class"``,
    imported when a test first asks for it: loading the plugin stays cheap).

    Assign both in a fixtures module: ``insi_mock_session, insi_mock = mock_fixtures(...)``.
    """
    module, _, class_name = mock_class.partition(":")

    def session(segurlink_pki: TestPki) -> Iterator[MockService]:
        build: Callable[[TestPki], MockService] = getattr(
            importlib.import_module(module), class_name
        )
        mock = build(segurlink_pki).start()
        try:
            yield mock
        finally:
            mock.stop()

    def per_test(request: pytest.FixtureRequest) -> Iterator[MockService]:
        mock: MockService = request.getfixturevalue(f"{name}_session")
        prepare(mock)
        yield mock
        mock.check_handler_errors()

    session.__doc__ = f"The {name} server of the session, not reset between tests."
    per_test.__doc__ = doc
    return (
        pytest.fixture(scope="session", name=f"{name}_session")(session),
        pytest.fixture(name=name)(per_test),
    )
