"""The browser fixture itself works: it renders a page served on loopback."""

from __future__ import annotations

from typing import Any

from pytest_httpserver import HTTPServer


def test_chromium_renders_a_loopback_page(chromium: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        "<!doctype html><html lang=fr><title>ok</title><h1>Bonjour</h1></html>",
        content_type="text/html",
    )
    chromium.get(httpserver.url_for("/"))
    assert chromium.title == "ok"
    assert chromium.find_element("tag name", "h1").text == "Bonjour"
