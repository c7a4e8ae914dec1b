"""/import against guessing: 429 after ten wrong secrets per client, and a cache of good ones only.

Clients that must not share a count connect from their own loopback address (127.0.0.2, …).
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from collector.live import PROJECT, SECRET, TOKEN, serving

from utmost.collector import create_app
from utmost.collector.app import Collector
from utmost.store import Store


@dataclass
class Running:
    url: str
    collector: Collector

    def client(self, address: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.fixture
def running(tmp_path) -> Iterator[Running]:
    with Store(tmp_path / "limits.duckdb") as store:
        store.create_project(PROJECT, TOKEN, SECRET)
        app = create_app(store)
        with serving(app) as url:
            yield Running(url, app.state.collector)


def import_(client: httpx.Client, secret: str) -> httpx.Response:
    return client.post("/import", content=b"[]", auth=(secret, ""), headers={"content-type": "application/json"})


def test_import_answers_429_after_ten_wrong_secrets_from_one_client(running: Running) -> None:
    with running.client("127.0.0.2") as guesser, running.client("127.0.0.3") as neighbour:
        assert import_(guesser, SECRET).status_code == 200  # now cached: the cache must not tell either
        forgot = [guesser.post("/import", content=b"[]").status_code for _ in range(12)]
        assert forgot == [401] * 12  # no credentials at all is not a guess: not counted
        assert [import_(guesser, f"guess-{n}").status_code for n in range(25)] == [401] * 10 + [429] * 15
        refused = import_(guesser, SECRET)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json() == {"code": 429, "num_records_imported": 0, "status": "Too Many Requests",
                                  "error": "too many wrong secrets from this address: try again in 1 s",
                                  "failed_records": []}
        assert import_(neighbour, SECRET).status_code == 200
        time.sleep(1.05)
        assert import_(guesser, SECRET).status_code == 200


def test_import_cache_keeps_credentials_not_the_ways_to_spell_them(running: Running) -> None:
    """The issue's 6,000 spellings of one good header grew the cache by 24 MB."""
    encoded = [base64.b64encode(text.encode()).decode() for text in (f"{SECRET}:", f":{SECRET}")]
    schemes = ["".join(letters) for letters in itertools.product(*zip("basic", "BASIC"))]
    headers = [f"{scheme}{' ' * spaces}{credentials}" for scheme in schemes for spaces in range(1, 6)
               for credentials in encoded]
    with running.client("127.0.0.1") as client:
        for header in headers:
            answer = client.post("/import", content=b"[]", headers={"authorization": header})
            assert answer.status_code == 200, header
    assert len(headers) == 320
    assert set(running.collector._imports) == {((SECRET, ""), None), (("", SECRET), None)}
