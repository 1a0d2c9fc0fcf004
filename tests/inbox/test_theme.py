"""The `theme` setting: a Textual theme by name, the current look by default, refused when unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox.config import DEFAULT_THEME, InboxSettings, SettingsError, load_settings


def test_the_default_theme_is_the_inbox_look():
    assert InboxSettings(reviewer="dana").theme == DEFAULT_THEME == "textual-dark"


def test_a_theme_from_the_file_or_the_environment(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('reviewer = "dana"\ntheme = "nord"\n', encoding="utf-8")
    assert load_settings(config, env={}).theme == "nord"
    assert load_settings(config, env={"INBOX_THEME": "dracula"}).theme == "dracula"


def test_an_unknown_theme_is_refused_with_the_choices(tmp_path):
    with pytest.raises(SettingsError) as refused:
        load_settings(Path(tmp_path / "none.toml"), env={"INBOX_THEME": "neon"})
    assert "'neon'" in str(refused.value) and "textual-dark" in str(refused.value)


def test_the_app_uses_the_theme(tmp_path):
    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.app import InboxApp
    from inbox.review import ReviewService

    saver = SqliteSaver.open(str(tmp_path / "t.sqlite"))
    try:
        app = InboxApp(ReviewService(saver, {}, reviewer="dana"), settings=InboxSettings(reviewer="dana", theme="nord"))
        assert app.theme == "nord"
    finally:
        saver.close()
