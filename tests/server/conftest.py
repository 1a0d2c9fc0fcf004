"""One `inbox serve` per test module (see serving.py): starting one costs ~1 s."""

from __future__ import annotations

import pytest

from serving import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("serve") / "inbox.sqlite").start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    from langgraph_sdk import get_client

    return get_client(url=server.url, api_key=None)
