"""Both backends implement the whole Backend protocol (inbox/backends/__init__.py), so
ReviewService reaches a remote server only through it; a backend missing a method is refused
by name (never mistaken for a saver and wrapped); what only the inbox's database keeps (rules,
the audit log) is a clear NeedsStore error over --url, in the service and in the TUI. No server:
these never reach the network."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.widgets import Static

from inbox.app import InboxApp
from inbox.backends import Backend, missing_methods
from inbox.backends.local import LocalBackend
from inbox.backends.remote import RemoteBackend
from inbox.config import InboxSettings
from inbox.review import NeedsStore, ReviewService

URL = "http://127.0.0.1:9"  # a closed port


def test_both_backends_implement_the_protocol():
    for backend in (LocalBackend(None), RemoteBackend(URL)):
        assert missing_methods(backend) == [], type(backend).__name__
        assert isinstance(backend, Backend)
    service = ReviewService(RemoteBackend(URL), reviewer="dana")
    assert isinstance(service.backend, RemoteBackend) and service.saver is None


def test_a_backend_missing_methods_is_refused_by_name():
    class Partial:
        kind = "remote"
        graphs: dict = {}

        async def list_pending(self, **_):
            return []

    with pytest.raises(TypeError, match="does not implement the Backend protocol.*find_ids"):
        ReviewService(Partial(), reviewer="dana")


async def test_rules_and_audit_over_a_server_say_they_need_the_database():
    service = ReviewService(RemoteBackend(URL), reviewer="dana")
    for call in (service.rules(), service.add_rule("send_email"), service.audit(), service.verify_audit(),
                 service.revoke_rule("abc")):
        with pytest.raises(NeedsStore, match="kept in the inbox's database.*--db PATH"):
            await call
    assert await service.waiting_for_a_worker() == {}  # the server continues its runs


async def test_the_rules_screen_over_a_server_says_so(monkeypatch):
    monkeypatch.setenv("INBOX_CONFIG", "/nonexistent/config.toml")
    service = ReviewService(RemoteBackend(URL, poll_interval=0.3), reviewer="dana")
    app = InboxApp(service, settings=InboxSettings(reviewer="dana", toast_seconds=30),
                   source=f"{URL} · inbox serve", clock=lambda: datetime(2025, 3, 10, 9, tzinfo=timezone.utc),
                   live=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("P")
        for _ in range(40):
            await pilot.pause(0.05)
            shown = app.screen.query("#rules-empty")
            if shown and "--db PATH" in str(shown.first(Static).content):
                break
        assert "Rules are kept in the inbox's database" in str(app.screen.query_one("#rules-empty", Static).content)
        assert not [f for f in app.failures if not isinstance(f[1], ConnectionError)]
