"""The shared table of magic-link base URLs (tests/data/link_urls.tsv), through the Python
binding: every URL the engine builds parses with urllib.parse, carries the token parameter
exactly once with the token as its value, and points to the allowed host; every refused base
is an InvalidArgumentError and nothing is issued."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest

import verikit

TABLE = Path(__file__).resolve().parents[1] / "data" / "link_urls.tsv"


def load() -> Tuple[List[str], List[Tuple[str, str, str]]]:
    origins: List[str] = []
    cases: List[Tuple[str, str, str]] = []
    for line in TABLE.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] == "origins":
            origins = cols[1].split(" ")
        else:
            cases.append((cols[0], cols[1], cols[2] if len(cols) > 2 else ""))
    return origins, cases


ORIGINS, CASES = load()


@pytest.fixture(scope="module")
def engine() -> verikit.Engine:
    return verikit.Engine(abuse_controls=False, link_origins=ORIGINS, link_allow_http=True)


def test_the_table_is_there() -> None:
    assert len(CASES) >= 50 and ORIGINS


@pytest.mark.parametrize("base,expected,message", CASES)
def test_base_url(engine: verikit.Engine, base: str, expected: str, message: str) -> None:
    if expected == "refused":
        with pytest.raises(verikit.InvalidArgumentError, match="base URL") as err:
            engine.issue_link("login", "ann@example.com", base)
        assert message in str(err.value)
        return
    r = engine.issue_link("login", "ann@example.com", base)
    assert r.url == expected.replace("{t}", r.secret)
    parts = urlsplit(r.url)
    assert parts.scheme in ("https", "http")
    assert parts.port == (int(parts.netloc.rsplit(":", 1)[1]) if "]:" in parts.netloc or
                          (":" in parts.netloc and "[" not in parts.netloc) else None)
    origin = f"{parts.scheme}://{parts.netloc}"
    assert verikit_origin(origin) in {verikit_origin(o) for o in ORIGINS}
    assert parse_qs(parts.query, keep_blank_values=True)["token"] == [r.secret]
    assert engine.peek_link(r.secret, "login").ok


def verikit_origin(origin: str) -> Tuple[str, str, int]:
    p = urlsplit(origin)
    assert p.hostname is not None
    return p.scheme.lower(), p.hostname.lower(), p.port or (443 if p.scheme.lower() == "https" else 80)


def test_http_needs_to_be_allowed() -> None:
    with verikit.Engine(abuse_controls=False) as e:
        with pytest.raises(verikit.InvalidArgumentError, match="https only"):
            e.issue_link("login", "ann@example.com", "http://localhost:8080/v")
        assert e.issue_link("login", "ann@example.com", "https://any.example/v").url.startswith("https://any.example/v?token=")
    with pytest.raises(verikit.ConfigError, match="link_allow_http"):
        verikit.Engine(link_origins=["http://localhost:8080"])
    with pytest.raises(verikit.ConfigError, match="no path"):
        verikit.Engine(link_origins=["https://example.com/app"])
