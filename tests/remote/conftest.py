"""One `inbox serve` and one `langgraph dev` per module (each costs a second or more to start).

`any_server` runs a test against both; LangGraph's server needs the `langgraph-server` extra
(`pip install -e .[langgraph-server]`, part of `test`): without it those cases are skipped,
saying so."""

from __future__ import annotations

import pytest

from servers import InboxServe, LangGraphDev, langgraph_cli

NO_LANGGRAPH = ("LangGraph's server is not installed here (langgraph-cli[inmem]): "
                "pip install -e '.[langgraph-server]' to run these cases; CI installs it")


@pytest.fixture(scope="module")
def inbox_serve(tmp_path_factory):
    server = InboxServe(tmp_path_factory.mktemp("serve") / "inbox.sqlite").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def langgraph_dev(tmp_path_factory):
    if langgraph_cli() is None:
        pytest.skip(NO_LANGGRAPH)
    server = LangGraphDev(tmp_path_factory.mktemp("langgraph")).start()
    yield server
    server.stop()


@pytest.fixture(params=["inbox serve", "LangGraph server"])
def any_server(request):
    return request.getfixturevalue("inbox_serve" if request.param == "inbox serve" else "langgraph_dev")
