"""Error messages in Vietnamese by default and in English on request, from one mechanism in shared/http.py."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Query, Request
from pydantic import BaseModel, Field

from shared.errors import MESSAGES_VI
from shared.http import (
    _HTTP_CODES,
    ApiError,
    BodySizeLimit,
    RefuseNulCharacters,
    install_error_handlers,
    negotiate_language,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "vi"),
        ("", "vi"),
        ("vi-VN,vi;q=0.9", "vi"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB;q=0.8,vi;q=0.9", "vi"),
        ("vi;q=0.5,en;q=0.6", "en"),
        ("fr-FR,fr;q=0.9", "vi"),
        ("fr,en;q=0.5", "en"),
        ("*", "vi"),
        ("en;q=bogus", "vi"),
    ],
)
def test_language_negotiation_defaults_to_vietnamese(header: str | None, language: str) -> None:
    """English only when the client prefers it to Vietnamese; anything else (or nothing) is Vietnamese."""
    assert negotiate_language(header) == language


def _codes_raised_in(root: Path) -> set[str]:
    """Every literal error code the services raise: ApiError/FileProblem(status, "code", ...), Conflict/InvalidInput."""
    codes: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            position = {"ApiError": 1, "FileProblem": 1, "Conflict": 0, "InvalidInput": 0}.get(name)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    codes.add(arg.value)
    return codes


def test_every_error_code_has_a_vietnamese_message() -> None:
    """No error a citizen or clerk can meet lacks a Vietnamese text: every raised code and every generic one."""
    raised = _codes_raised_in(REPO / "services") | _codes_raised_in(REPO / "shared")
    assert {"unknown_procedure", "reason_required", "chain_continues", "illegal_transition", "size_mismatch"} <= raised
    generic = set(_HTTP_CODES.values()) | {"validation_error", "malformed_json", "unavailable", "internal_error"}
    assert sorted((raised | generic) - set(MESSAGES_VI)) == []


class Body(BaseModel):
    name: str = Field(max_length=5)


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/thing/{code}")
    async def thing(code: str, n: int = Query(default=1, le=10)) -> dict[str, str]:
        raise ApiError(404, "unknown_procedure", f"no procedure {code!r}", vi=f"không có thủ tục {code!r}")

    @app.post("/things")
    async def things(body: Body) -> dict[str, str]:
        raise ApiError(409, "conflict", "field: taken")

    transport = httpx.ASGITransport(app=BodySizeLimit(app, max_bytes=100))
    return httpx.AsyncClient(transport=transport, base_url="http://svc")


async def test_errors_answer_in_vietnamese_unless_english_is_asked(client: httpx.AsyncClient) -> None:
    """The same errors in both languages: explicit Vietnamese text, the code's text (keeping the field), validation
    reasons with their limits, unknown routes and oversized bodies; Content-Language says which."""
    english = {"Accept-Language": "en-US,en;q=0.9"}
    r = await client.get("/thing/LT-ZZ-9")
    assert (r.status_code, r.json()["message"], r.headers["content-language"]) == (
        404,
        "không có thủ tục 'LT-ZZ-9'",
        "vi",
    )
    r = await client.get("/thing/LT-ZZ-9", headers=english)
    assert (r.json()["message"], r.headers["content-language"]) == ("no procedure 'LT-ZZ-9'", "en")
    r = await client.get("/thing/x", params={"n": 11})
    assert (r.json()["code"], r.json()["message"]) == ("validation_error", "n: phải nhỏ hơn hoặc bằng 10")
    r = await client.post("/things", json={"name": "abcdefg"})
    assert r.json()["message"] == "name: chỉ được tối đa 5 ký tự"
    r = await client.post("/things", json={"name": "abc"})
    assert r.json()["message"] == f"field: {MESSAGES_VI['conflict']}"
    r = await client.get("/nowhere")
    assert (r.status_code, r.json()["message"]) == (404, MESSAGES_VI["not_found"])
    assert (await client.get("/nowhere", headers=english)).json()["message"] == "Not Found"
    r = await client.post("/things", content=b"x" * 200, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large") and "giới hạn" in r.json()["message"]


async def test_a_nul_character_is_refused_before_any_route() -> None:
    """A NUL in a JSON string or the query string is 422 nul_character; other bodies (files) pass through."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    transport = httpx.ASGITransport(app=RefuseNulCharacters(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        bad = await client.post(
            "/echo", content=b'{"secret": "a\\u0000b"}', headers={"content-type": "application/json"}
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "nul_character")
        assert (await client.post("/echo?q=%00", json={})).status_code == 422
        ok = await client.post("/echo", json={"secret": "ab"})
        assert ok.status_code == 200
        binary = await client.post("/echo", content=b"%PDF\x00\x01", headers={"content-type": "application/pdf"})
        assert binary.json() == {"bytes": 6}
