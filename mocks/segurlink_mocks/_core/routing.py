"""Dispatch by a routing map: each mock lists its routes; werkzeug's ``Map`` matches them.

>>> routes = Routes([Route("/lps", "lps", handler, methods=("POST",))])   # doctest: +SKIP
>>> route, arguments = routes.match(request)     # NotFound / MethodNotAllowed otherwise
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

__all__ = ["Route", "Routes"]


@dataclass(frozen=True, slots=True)
class Route:
    """One path of a mock.

    ``path`` is a werkzeug rule (``/fhir/<kind>/<id>``); its variables are passed to the
    handler as keyword arguments. ``name`` is the route in the request log and what a
    targeted fault aims at (several paths may share it). ``methods=None`` accepts any
    method (the handler decides). ``takes_faults=False``: requests here never consume a
    pending fault (ROR's token endpoint: a fault aims at the FHIR call after it).
    """

    path: str
    name: str
    handler: Callable[..., Response]
    methods: tuple[str, ...] | None = None
    takes_faults: bool = True


class Routes:
    """A routing map; a trailing slash is accepted (``/registry/`` is ``/registry``)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = list(routes)
        self._map = Map(
            [
                Rule(route.path, endpoint=str(index), methods=route.methods)
                for index, route in enumerate(self._routes)
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    def __len__(self) -> int:
        return len(self._routes)

    def match(self, request: Request) -> tuple[Route, Mapping[str, Any]]:
        """The route of ``request`` and its path variables; raises werkzeug's
        ``NotFound`` or ``MethodNotAllowed`` (``valid_methods``) otherwise."""
        adapter = self._map.bind("mock", path_info=request.path, url_scheme="https")
        endpoint, arguments = adapter.match(request.path, request.method)
        return self._routes[int(endpoint)], arguments
