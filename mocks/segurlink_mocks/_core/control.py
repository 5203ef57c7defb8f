"""The control endpoint every mock serves under ``/_mock/`` on its own port.

A mock started by ``segurlink mock serve`` is driven from another process over HTTPS; a
client certificate of the test CA is required (any one, even a certificate the service
itself refuses)::

    GET    /_mock/faults                     pending faults
    POST   /_mock/faults   {"fault": "technical", "count": 1}   (count null: until cleared)
    DELETE /_mock/faults                     clear faults
    GET    /_mock/requests[?limit=20]        {"count": n, "requests": [...]} newest last
    DELETE /_mock/requests                   clear the log
    POST   /_mock/reset                      faults, log and data back to the start state

A mock adds its own routes under ``/_mock/`` (the PSC mock's ``/_mock/psc/...``). A fault
spec is parsed here, once, by the mock's :class:`~.faults.FaultCatalog`: an unknown fault
is a 400 that names the known ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from .exchange import PeerCertificate
from .routing import Route, Routes

if TYPE_CHECKING:
    from .server import MockServer

__all__ = ["CONTROL_PREFIX", "ControlEndpoint", "json_response"]

CONTROL_PREFIX = "/_mock/"
_MAX_LIMIT = 1000


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


class ControlEndpoint:
    """The ``/_mock/`` routes of one server; ``extra`` are the mock's own (relative) ones.

    Their handlers take the request and return a response; a ``ValueError`` or
    ``TypeError`` they raise is a 400 with its message.
    """

    def __init__(self, server: MockServer, extra: Sequence[Route] = ()) -> None:
        self.server = server
        mounted = [replace(r, path=CONTROL_PREFIX + r.path.lstrip("/")) for r in extra]
        self._routes = Routes(
            [
                Route("/_mock/faults", "faults", self._list_faults, ("GET",)),
                Route("/_mock/faults", "faults", self._inject, ("POST",)),
                Route("/_mock/faults", "faults", self._clear_faults, ("DELETE",)),
                Route("/_mock/requests", "requests", self._list_requests, ("GET",)),
                Route("/_mock/requests", "requests", self._clear_requests, ("DELETE",)),
                Route("/_mock/reset", "reset", self._reset, ("POST",)),
                *mounted,
            ]
        )

    def respond(self, request: Request, peer: PeerCertificate | None) -> Response:
        if peer is None:
            return json_response(
                {"error": "a TLS client certificate from the test CA is required"}, 403
            )
        try:
            route, arguments = self._routes.match(request)
        except MethodNotAllowed:
            return json_response(
                {"error": f"method {request.method} not allowed on {request.path}"}, 405
            )
        except HTTPException:
            return json_response({"error": f"no control route {request.path}"}, 404)
        try:
            return route.handler(request, **arguments)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)

    # -- routes --------------------------------------------------------------------------

    def _faults_json(self) -> dict[str, Any]:
        return {"faults": [p.to_json() for p in self.server.faults.pending()]}

    def _list_faults(self, request: Request) -> Response:
        return json_response(self._faults_json())

    def _inject(self, request: Request) -> Response:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("fault"), str):
            raise ValueError('expected JSON {"fault": "...", "count": 1}')
        fault = self.server.handler.fault_catalog.parse(payload["fault"])
        self.server.faults.push(fault, payload.get("count", 1))
        return json_response(self._faults_json(), 201)

    def _clear_faults(self, request: Request) -> Response:
        self.server.faults.clear()
        return json_response({"faults": []})

    def _list_requests(self, request: Request) -> Response:
        limit = request.args.get("limit", default=50, type=int) or 50
        records = self.server.requests[-max(1, min(limit, _MAX_LIMIT)) :]
        return json_response(
            {
                "count": self.server.request_count,
                "handshake_failures": self.server.handshake_failures,
                "requests": [r.to_json() for r in records],
            }
        )

    def _clear_requests(self, request: Request) -> Response:
        self.server.clear_requests()
        return json_response({"count": 0, "requests": []})

    def _reset(self, request: Request) -> Response:
        self.server.handler.reset()
        return json_response({"reset": True})
