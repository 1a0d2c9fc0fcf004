"""One list per tab, kept mounted (InboxScreen.table): a switch shows a list already built, and
what each tab shows stays what a fresh read would show while the store changes under it."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from engine.checkpoint.sqlite import SqliteSaver
from test_app_flows import demo_db, make_app, raise_more_script, wait_until  # noqa: F401 - fixture


def ids(table) -> list[str]:
    return [row.key.value for row in table.ordered_rows]


async def test_lists_stay_right_when_the_store_changes_while_another_tab_is_shown(demo_db, tmp_path):
    app, saver, graphs = await make_app(demo_db, live=True)
    script = raise_more_script(tmp_path, demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        inbox = app.inbox
        pending = inbox.table
        await wait_until(pilot, lambda: pending.row_count == 9 and inbox.counts, what="the first rows")
        await pilot.press("4")  # All: read once, then kept
        await wait_until(pilot, lambda: inbox.tab == "all" and inbox._loaded_for.get("all") == "", what="All")
        all_list = inbox.table
        assert all_list is not pending and set(ids(all_list)) == set(ids(pending))
        await pilot.press("2")  # Resolved, empty
        await wait_until(pilot, lambda: inbox._loaded_for.get("resolved") == "", what="Resolved")
        resolved = inbox.table
        assert resolved.row_count == 0

        # While Resolved is shown: three new requests from another process, and one decided elsewhere.
        await asyncio.to_thread(subprocess.run, [sys.executable, str(script)], check=True)
        decided = ids(pending)[0]
        other = await SqliteSaver.aopen(str(demo_db))
        await other.aresolve(decided, [{"type": "response", "args": "not now"}], by="sam")
        await other.aclose()
        await wait_until(pilot, lambda: decided in resolved.items, what="the shown Resolved list to read it")
        store = [r.id for r in await saver.alist_pending()]
        await wait_until(pilot, lambda: set(ids(pending)) == set(store), what="the hidden Pending list to follow")
        assert "all" in inbox._stale  # read again when shown

        await pilot.press("1")  # up to date: shown as it is, not read again
        await pilot.pause(0.1)
        assert inbox.table is pending and ids(pending) == store
        await pilot.press("4")
        await wait_until(pilot, lambda: inbox.tab == "all" and "all" not in inbox._stale
                         and inbox._loaded_for.get("all") == "" and decided in all_list.items, what="All read again")
        assert set(ids(all_list)) == set(store) | {decided}
        assert all_list.items[decided].record.status == "resolved"
        assert inbox.table is all_list and app.focused is all_list
    await saver.aclose()


async def test_a_switch_to_an_up_to_date_list_reads_nothing(demo_db):
    app, saver, graphs = await make_app(demo_db, live=True)
    async with app.run_test(size=(150, 40)) as pilot:
        inbox = app.inbox
        await wait_until(pilot, lambda: inbox.table.row_count == 9 and inbox.counts, what="the first rows")
        for key in "2341":
            await pilot.press(key)
            await pilot.pause(0.2)
        reads = []
        pending_read = inbox.service.pending

        async def counting(*args, **kwargs):
            reads.append(args or kwargs)
            return await pending_read(*args, **kwargs)
        inbox.service.pending = counting
        for key in "2341":
            await pilot.press(key)
            await pilot.pause(0.1)
            assert inbox.table is inbox._tables[inbox.tab]
            assert app.focused is inbox.table
        assert reads == []
        # The list on screen is the tab's: it covers the lists' box, the others are clipped away;
        # also after the box's height changed (the filter box opened and closed) and on return.
        lists = app.query_one("#lists")
        for keys in ((), ("4",), ("slash",), ("w",), ("escape",), ("1",)):
            await pilot.press(*keys)
            await pilot.pause(0.2)
            assert inbox.table.region == lists.content_region, keys
            assert not any(t.region.overlaps(lists.region) for t in inbox._tables.values() if t is not inbox.table)
    await saver.aclose()


async def test_marks_made_on_one_tab_show_on_the_others(demo_db):
    app, saver, graphs = await make_app(demo_db, live=True)
    async with app.run_test(size=(150, 40)) as pilot:
        inbox = app.inbox
        await wait_until(pilot, lambda: inbox.table.row_count == 9 and inbox.counts, what="the first rows")
        await pilot.press("4")
        await wait_until(pilot, lambda: inbox._loaded_for.get("all") == "", what="All")
        marked = inbox.current.id
        await pilot.press("space")  # marked on All
        await pilot.press("1")
        await pilot.pause(0.1)
        assert str(inbox.table.get_row(marked)[0]) == "●"  # the Pending list shows it
        await pilot.press("j", "space")  # another one marked here
        second = [i for i in inbox.table.marked if i != marked]
        await pilot.press("4")
        await pilot.pause(0.1)
        assert len(second) == 1
        for item_id in [marked, *second]:
            assert str(inbox.table.get_row(item_id)[0]) == "●"
        await pilot.press("g", "space")  # unmarked on All: the Pending list shows that too
        await pilot.press("1")
        await pilot.pause(0.1)
        assert str(inbox.table.get_row(marked)[0]) == " "
        assert str(inbox.table.get_row(second[0])[0]) == "●"
    await saver.aclose()


async def test_a_list_shown_again_is_drawn_as_a_fresh_draw_would_be_also_after_a_theme_change(demo_db):
    """TabList keeps its drawn rows when the focus comes back: they must be what drawing them
    afresh gives (the focused cursor, the tint), and a theme change must redraw them."""
    app, saver, graphs = await make_app(demo_db, live=True)
    async with app.run_test(size=(150, 40)) as pilot:
        inbox = app.inbox
        await wait_until(pilot, lambda: inbox.table.row_count == 9 and inbox.counts, what="the first rows")
        pending = inbox.table

        def drawn() -> list:
            return [list(pending.render_line(y)) for y in range(6)]

        def fresh() -> list:
            pending._clear_caches()
            return drawn()
        await pilot.press("j")
        await pilot.pause(0.2)
        before = drawn()
        for theme in (app.theme, "textual-light"):
            app.theme = theme
            await pilot.press("2")
            await pilot.pause(0.2)
            await pilot.press("1")
            await pilot.pause(0.2)
            assert app.focused is pending
            kept = drawn()
            assert kept == fresh(), theme
        assert kept != before  # the light theme's colours
    await saver.aclose()
