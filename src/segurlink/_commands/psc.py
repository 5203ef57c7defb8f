"""``segurlink psc login|ciba|userinfo|introspect|discover``."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cli import CommandResult, load_settings
from ._args import existing_file, new_file, non_empty, port, positive_float

if TYPE_CHECKING:
    from ..psc.client import PscClient
    from ..psc.models import ProfessionalIdentity, PscLogin, TokenSet

__all__ = ["register"]


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    psc = groups.add_parser(
        "psc", help="Pro Santé Connect: log a professional in, read who they are"
    )
    commands = psc.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    login = commands.add_parser(
        "login",
        parents=[common],
        help="print (or open) the login URL, wait on a loopback callback, print the identity",
    )
    login.add_argument(
        "--port",
        type=port,
        default=None,
        help="loopback callback port (default: from redirect_uri, else any)",
    )
    login.add_argument(
        "--timeout", type=positive_float, default=300.0, help="seconds to wait for the callback"
    )
    login.add_argument("--open", action="store_true", help="open the URL in a browser")
    login.add_argument(
        "--save-tokens", type=new_file, help="write the tokens to this file (mode 0600)"
    )
    login.set_defaults(handler=_login)

    ciba = commands.add_parser(
        "ciba", parents=[common], help="backchannel login (CIBA poll mode) of a professional"
    )
    ciba.add_argument(
        "--login-hint",
        type=non_empty,
        required=True,
        help="national id of the professional (8 + RPPS)",
    )
    ciba.add_argument(
        "--binding-message", default="", help="text shown on the professional's device"
    )
    ciba.add_argument("--channel", choices=["MOBILE", "CARD"], default="MOBILE")
    ciba.add_argument(
        "--save-tokens", type=new_file, help="write the tokens to this file (mode 0600)"
    )
    ciba.set_defaults(handler=_ciba)

    userinfo = commands.add_parser(
        "userinfo", parents=[common], help="the professional identity of a saved session"
    )
    source = userinfo.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--tokens", type=existing_file, help="token file of login/ciba --save-tokens (refreshed)"
    )
    source.add_argument("--access-token", type=non_empty, help="an access token")
    userinfo.set_defaults(handler=_userinfo)

    introspect = commands.add_parser(
        "introspect", parents=[common], help="introspect the access token of a saved session"
    )
    introspect.add_argument("--tokens", type=existing_file, required=True)
    introspect.set_defaults(handler=_introspect)

    discover = commands.add_parser("discover", parents=[common], help="show the provider endpoints")
    discover.set_defaults(handler=_discover)


def _client(args: argparse.Namespace) -> PscClient:
    from ..psc.client import PscClient

    return PscClient.from_settings(load_settings(args))


# -- output -------------------------------------------------------------------------------


def identity_data(identity: ProfessionalIdentity) -> dict[str, Any]:
    """JSON-ready view of a professional identity (shown to the professional who asked)."""
    return {
        "national_id": identity.national_id,
        "rpps": identity.rpps,
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "civility": identity.civility,
        "sector": identity.sector,
        "roles": list(identity.roles),
        "exercices": [
            {
                "profession": e.profession,
                "category": e.category,
                "speciality": e.speciality,
                "name": " ".join(p for p in (e.first_name, e.last_name) if p),
                "activities": [
                    {
                        "name": a.name,
                        "sector": a.sector,
                        "role": a.role,
                        "mode": a.mode,
                        "finess_site": a.finess_site,
                        "finess_legal_entity": a.finess_legal_entity,
                        "siret": a.siret,
                        "address": a.address.street_line,
                        "postal_code": a.address.postal_code,
                    }
                    for a in e.activities
                ],
            }
            for e in identity.exercices
        ],
    }


def identity_text(identity: ProfessionalIdentity) -> str:
    lines = [
        " ".join(p for p in (identity.civility, identity.given_name, identity.family_name) if p),
        f"national id {identity.national_id}"
        + (f"  RPPS {identity.rpps}" if identity.rpps else ""),
    ]
    for e in identity.exercices:
        lines.append(
            f"exercice: profession {e.profession or '-'} category {e.category or '-'}"
            f" speciality {e.speciality or '-'}"
        )
        for a in e.activities:
            ids = ", ".join(
                f"{label} {value}"
                for label, value in (
                    ("FINESS ET", a.finess_site),
                    ("FINESS EJ", a.finess_legal_entity),
                    ("SIRET", a.siret),
                )
                if value
            )
            lines.append(
                f"  activity: {a.name or '-'} ({a.sector or '-'}"
                f"{', role ' + a.role if a.role else ''}){' — ' + ids if ids else ''}"
            )
    return "\n".join(lines)


def _login_result(login: PscLogin, save: Path | None) -> CommandResult:
    if save is not None:
        _save_tokens(save, login.tokens)
    data: dict[str, Any] = {
        "acr": login.claims.acr,
        "auth_mode": login.claims.auth_mode,
        "expires_at": login.tokens.expires_at,
    }
    text = [
        f"logged in (acr {login.claims.acr}{', card' if login.claims.auth_mode == 'CARD' else ''})"
    ]
    if login.identity is not None:
        data["identity"] = identity_data(login.identity)
        text.append(identity_text(login.identity))
    return CommandResult(data=data, text="\n".join(text))


def _save_tokens(path: Path, tokens: TokenSet) -> None:
    from ..psc.client import tokens_to_json

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(tokens_to_json(tokens))


def _load_tokens(path: Path) -> TokenSet:
    from ..errors import ConfigurationError
    from ..psc.client import tokens_from_json

    try:
        return tokens_from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the token file {path}: {exc}") from exc


# -- login with a loopback callback -------------------------------------------------------


#: Seconds the callback page waits for the login to finish before it answers anyway.
_CALLBACK_PAGE_WAIT = 60.0
#: Errors by which the provider says the professional refused or cancelled.
_REFUSALS = frozenset({"access_denied", "consent_required", "login_required"})


def _page(title: str, paragraphs: list[str]) -> bytes:
    """A small French page (the provider's pages are French) for the person at the browser."""
    from html import escape

    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — segurlink</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    ).encode()


def _success_page(login: PscLogin) -> bytes:
    who = ""
    if login.identity is not None:
        identity = login.identity
        name = " ".join(p for p in (identity.given_name, identity.family_name) if p)
        who = f" en tant que {name} ({identity.national_id})" if name else ""
    means = " par carte CPS" if login.claims.auth_mode == "CARD" else ""
    return _page(
        "Connexion réussie",
        [
            f"Vous êtes connecté à Pro Santé Connect{who}{means}.",
            "Vous pouvez fermer cette fenêtre et revenir au terminal.",
        ],
    )


def _failure_page(error: BaseException) -> bytes:
    from ..errors import OidcError

    code = error.error if isinstance(error, OidcError) else ""
    if code in _REFUSALS:
        return _page(
            "Connexion refusée",
            [
                f"La connexion a été annulée ou refusée sur Pro Santé Connect ({code}) : "
                "aucune session n'a été ouverte.",
                "Vous pouvez fermer cette fenêtre ; segurlink s'est arrêté avec une erreur.",
            ],
        )
    return _page(
        "Échec de la connexion",
        [
            "Pro Santé Connect a répondu, mais segurlink n'a pas pu terminer la connexion : "
            "aucune session n'a été ouverte.",
            f"Cause : {error}",
            "Vous pouvez fermer cette fenêtre ; le terminal donne le détail.",
        ],
    )


class _Callback:
    """A one-shot loopback HTTP server receiving the authorization callback.

    The page it answers says what happened: it waits (at most ``_CALLBACK_PAGE_WAIT``
    seconds) for the CLI to finish the login, then shows success or the refusal.
    """

    def __init__(self, path: str, port: int) -> None:
        from http.server import BaseHTTPRequestHandler, HTTPServer
        from urllib.parse import parse_qs

        self.query: str | None = None
        self.expected_state: str | None = None
        self.received = threading.Event()
        self._page: bytes | None = None
        self._decided = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target, _, query = self.path.partition("?")
                if target != path or outer.received.is_set():
                    self.send_error(404)
                    return
                # Any local process can call the port: a stray or forged callback (not our
                # state) is turned away and the real one is still awaited.
                if parse_qs(query).get("state") != [outer.expected_state]:
                    self._send(
                        400,
                        _page(
                            "Retour de connexion inattendu",
                            ["Cette adresse attend le retour d'une autre connexion."],
                        ),
                    )
                    return
                outer.query = query
                outer.received.set()
                outer._decided.wait(_CALLBACK_PAGE_WAIT)
                self._send(
                    200,
                    outer._page
                    or _page(
                        "Connexion en cours",
                        ["segurlink vérifie encore la connexion : regardez le terminal."],
                    ),
                )

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def show(self, page: bytes) -> None:
        """The page the waiting browser gets (the first call wins)."""
        if not self._decided.is_set():
            self._page = page
            self._decided.set()

    def close(self) -> None:
        self.show(_page("Connexion interrompue", ["segurlink s'est arrêté : voir le terminal."]))
        self.server.shutdown()
        self.server.server_close()


def _login(args: argparse.Namespace) -> CommandResult:
    from urllib.parse import urlsplit, urlunsplit

    from ..errors import ConfigurationError, OidcError, SegurlinkError

    with _client(args) as client:
        configured = urlsplit(client.settings.redirect_uri or "http://127.0.0.1/callback")
        if configured.scheme != "http" or configured.hostname not in ("127.0.0.1", "localhost"):
            raise ConfigurationError(
                "psc login needs a loopback redirect_uri (http://127.0.0.1[:port]/path) "
                f"registered for the client, not {client.settings.redirect_uri!r}"
            )
        port = args.port if args.port is not None else (configured.port or 0)
        try:
            callback = _Callback(configured.path or "/", port)
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
        try:
            redirect_uri = urlunsplit(
                ("http", f"127.0.0.1:{callback.port}", configured.path or "/", "", "")
            )
            request = client.authorization_request(redirect_uri=redirect_uri)
            callback.expected_state = request.state
            print(f"Log in with Pro Santé Connect:\n{request.url}", file=sys.stderr, flush=True)
            if args.open:
                import webbrowser

                webbrowser.open(request.url)
            if not callback.received.wait(args.timeout):
                raise OidcError(
                    f"no login callback within {args.timeout:g} s", error="login_timeout"
                )
            try:
                login = client.finish_login(callback.query or "", request)
            except SegurlinkError as exc:
                callback.show(_failure_page(exc))
                raise
            callback.show(_success_page(login))
        finally:
            callback.close()
    return _login_result(login, args.save_tokens)


def _ciba(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        print(
            f"waiting for {args.login_hint} to approve on {args.channel}...",
            file=sys.stderr,
            flush=True,
        )
        login = client.ciba_login(
            args.login_hint, binding_message=args.binding_message, channel=args.channel
        )
    return _login_result(login, args.save_tokens)


def _userinfo(args: argparse.Namespace) -> CommandResult:
    from ..config import Secret

    with _client(args) as client:
        if args.tokens is not None:
            provider = client.token_provider(_load_tokens(args.tokens))
            identity = client.userinfo(Secret(provider.access_token()))
            _save_tokens(args.tokens, provider.tokens)  # keep the refreshed tokens
        else:
            identity = client.userinfo(Secret(args.access_token))
    return CommandResult(data=identity_data(identity), text=identity_text(identity))


def _introspect(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        result = client.introspect(_load_tokens(args.tokens))
    data = {
        "active": result.active,
        "national_id": result.national_id,
        "acr": result.acr,
        "scope": result.scope,
        "client_id": result.client_id,
        "exp": result.expires_at,
    }
    text = "active" if result.active else "inactive"
    if result.active:
        text += (
            f": {result.national_id} acr {result.acr} scope {result.scope!r}"
            f" exp {result.expires_at}"
        )
    return CommandResult(data=data, text=text, exit_code=0 if result.active else 1)


def _discover(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        md = client.metadata()
    data = {
        "issuer": md.issuer,
        "authorization_endpoint": md.authorization_endpoint,
        "token_endpoint": md.token_endpoint,
        "userinfo_endpoint": md.userinfo_endpoint,
        "jwks_uri": md.jwks_uri,
        "introspection_endpoint": md.introspection_endpoint,
        "end_session_endpoint": md.end_session_endpoint,
        "backchannel_authentication_endpoint": md.backchannel_authentication_endpoint,
    }
    return CommandResult(data=data, text="\n".join(f"{k:38} {v}" for k, v in data.items()))
