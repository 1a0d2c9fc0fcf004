"""Snapshot tests of the inbox's screens (pytest-textual-snapshot SVGs).

The scenarios live in snapshot_apps.py, shared with screenshots/make_screenshots.py. Every
picture is deterministic: a fixed clock (app, saver and graphs), databases built from a fixed
seed, a fixed terminal size, no cursor blink, ten-minute toasts, "demo.sqlite" in place of the
real path, no home directory. Update after an intended change of the UI with

    pytest tests/inbox/test_snapshots.py --snapshot-update

and look at the report (snapshot_report.html) before committing the new SVGs.

`snap_compare` runs the app in its own event loop: the tests that use it are sync, and the
databases are built in sync fixtures.
"""

from __future__ import annotations

import shutil

import pytest

from snapshot_apps import CONFIG_PATH, DATABASES, SCENARIOS, make_app, open_saver, press, settle


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Each database built once per session (closed, so the file is complete); tests get copies."""
    paths = {}

    def get(name: str):
        if name not in paths:
            paths[name] = DATABASES[name](tmp_path_factory.mktemp(f"db-{name}") / "demo.sqlite")
        return paths[name]
    return get


@pytest.fixture
def opened(request, built, tmp_path, monkeypatch):
    """(scenario, app, saver) for the scenario named by the test's parameter."""
    monkeypatch.setenv("INBOX_CONFIG", CONFIG_PATH)  # the help screen shows this path
    scenario = SCENARIOS[request.param]
    db = shutil.copyfile(built(scenario.database), tmp_path / "demo.sqlite")
    saver = open_saver(db)
    try:
        yield scenario, make_app(saver, scenario.undo_seconds), saver
    finally:
        saver.close()


@pytest.mark.parametrize("opened", list(SCENARIOS), indirect=True)
def test_screen(opened, snap_compare):
    scenario, app, saver = opened

    async def run_before(pilot) -> None:
        await scenario.run(pilot, saver)

    assert snap_compare(app, terminal_size=scenario.size, run_before=run_before), scenario.what


# ---- keys that once did nothing ----------------------------------------------------------------------


@pytest.fixture
def inbox(built, tmp_path, monkeypatch):
    monkeypatch.setenv("INBOX_CONFIG", CONFIG_PATH)
    saver = open_saver(shutil.copyfile(built("inbox"), tmp_path / "demo.sqlite"))
    try:
        yield make_app(saver)
    finally:
        saver.close()


async def test_ctrl_p_opens_the_palette(inbox):
    from textual.command import CommandPalette

    async with inbox.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        assert isinstance(inbox.screen, CommandPalette)


async def test_enter_opens_the_thread_view(inbox):
    from inbox.screens.thread import ThreadScreen

    async with inbox.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(inbox.screen, ThreadScreen)
