import pytest


@pytest.fixture(params=["memory", "sqlite"])
def saver(request, tmp_path):
    """Every engine test that takes `saver` runs against each checkpointer."""
    if request.param == "memory":
        from engine.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    sqlite = pytest.importorskip("engine.checkpoint.sqlite")
    with sqlite.SqliteSaver.from_conn_string(str(tmp_path / "engine.sqlite")) as opened:
        yield opened
