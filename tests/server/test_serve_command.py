"""`inbox serve`'s own checks, before anything is served: each is exit 2 with one line."""

from __future__ import annotations

import json

from inbox.cli import main


def test_no_graph(tmp_path, capsys):
    assert main(["serve", "--db", str(tmp_path / "x.sqlite")]) == 2
    assert "needs a graph" in capsys.readouterr().err


def test_bad_config(tmp_path, capsys):
    config = tmp_path / "langgraph.json"
    config.write_text("{nope")
    assert main(["serve", "--db", str(tmp_path / "x.sqlite"), "--config", str(config)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    config.write_text(json.dumps({"graphs": {"agent": "./missing.py:graph"}}))
    assert main(["serve", "--db", str(tmp_path / "x.sqlite"), "--config", str(config)]) == 2
    assert "no file" in capsys.readouterr().err
    config.write_text(json.dumps({"dependencies": ["."]}))
    assert main(["serve", "--db", str(tmp_path / "x.sqlite"), "--config", str(config)]) == 2
    assert '"graphs"' in capsys.readouterr().err


def test_bad_keys(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("INBOX_API_KEYS", raising=False)
    base = ["serve", "--db", str(tmp_path / "x.sqlite"), "--config", "examples/serve/langgraph.json"]
    assert main(base + ["--api-key", "dana=short"]) == 2
    err = capsys.readouterr().err
    assert "shorter than 8" in err and "short" not in err.replace("shorter", "")
    assert main(base + ["--api-key", "api=a-long-enough-key"]) == 2
    assert "reserved" in capsys.readouterr().err
    assert main(base + ["--api-key", "dana=same-key-123456", "--api-key", "erin=same-key-123456"]) == 2
    assert "own" in capsys.readouterr().err


def test_public_host_needs_a_key(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("INBOX_API_KEYS", raising=False)
    assert main(["serve", "--db", str(tmp_path / "x.sqlite"), "--config", "examples/serve/langgraph.json",
                 "--host", "0.0.0.0"]) == 2
    assert "--insecure" in capsys.readouterr().err
    assert not (tmp_path / "x.sqlite").exists()  # refused before the file was opened


def test_an_unreachable_postgres_url_is_one_line_without_its_password(capsys):
    from serving import free_port

    url = f"postgresql://dana:s3cret-pw@127.0.0.1:{free_port()}/inbox?connect_timeout=2"
    assert main(["serve", "--db", url, "--config", "examples/serve/langgraph.json", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and "s3cret-pw" not in err and "Traceback" not in err
