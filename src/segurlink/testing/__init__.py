"""Public testing helpers: a fake transport to unit-test code that uses segurlink's clients.

The mocks (:mod:`segurlink_mocks`) are real servers speaking the real protocols; they are
what an integration test runs against. For a fast unit test of your own code — what it
does with a ROR answer, how it reacts to a DMP outage — :class:`MockTransport` answers
each request with a function, in the process, like httpx's ``MockTransport``:

>>> from segurlink.testing import MockTransport, Response
>>> def service(request):
...     return Response(200, json={"resourceType": "Bundle", "entry": []})
>>> fake = MockTransport(service)
>>> session = fake.session()          # give it to any client: Client(settings, session=...)
>>> session.get("https://ror.invalid/fhir/Location", timeout=(5, 30)).json()["resourceType"]
'Bundle'
>>> fake.requests[0].method, fake.requests[0].timeout
('GET', (5, 30))

Every request is recorded (:attr:`MockTransport.requests`), and one sent without a finite
timeout fails (segurlink's clients always send one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._transport import (
        MissingTimeout,
        MockTransport,
        NoAnswer,
        Request,
        Response,
        Unreachable,
    )

__all__ = [
    "MissingTimeout",
    "MockTransport",
    "NoAnswer",
    "Request",
    "Response",
    "Unreachable",
]

_EXPORTS = {
    **dict.fromkeys(
        (
            "MissingTimeout",
            "MockTransport",
            "NoAnswer",
            "Request",
            "Response",
            "Unreachable",
        ),
        "._transport",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
