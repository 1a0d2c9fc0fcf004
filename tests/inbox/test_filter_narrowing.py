"""A query that narrows the last one searches the last one's matches (inbox.search.narrows):
the rows must be exactly those a fresh search shows, letter by letter, narrowing and widening."""

from __future__ import annotations

from inbox.screens.inbox import SEARCH_WINDOW
from inbox.search import matches, narrows, parse_query
from test_app_flows import demo_db, make_app, wait_until  # noqa: F401 - fixture


def test_a_query_narrows_another_when_everything_it_matches_the_other_matches():
    q = parse_query
    assert narrows(q("wir"), q("wi")) and narrows(q("wire eur"), q("wire")) and narrows(q("wire"), q(""))
    assert narrows(q("eur wire"), q("wir")) and narrows(q("wire graph:pay"), q("wire"))
    assert narrows(q("graph:payments"), q("graph:pay")) and narrows(q("status:overdue x"), q("status:overdue"))
    assert not narrows(q("wi"), q("wir")) and not narrows(q("wire"), q("wire eur"))
    assert not narrows(q("graph:pay"), q("graph:payments")) and not narrows(q("wire"), q("graph:pay"))
    assert not narrows(q("status:pending"), q("status:overdue")) and not narrows(q("ab"), q("ba"))


def ids(table) -> list[str]:
    return [row.key.value for row in table.ordered_rows]


async def test_rows_typed_letter_by_letter_are_those_of_a_fresh_search(demo_db):
    app, saver, graphs = await make_app(demo_db, live=True)
    async with app.run_test(size=(150, 40)) as pilot:
        inbox = app.inbox
        await wait_until(pilot, lambda: inbox.table.row_count == 9 and inbox.counts, what="the first rows")
        everything = await inbox.service.pending(limit=SEARCH_WINDOW)
        await pilot.press("slash")
        typed = ""
        for key in ["s", "e", "n", "backspace", "backspace", "q", "l", "backspace", "backspace", "space",
                    *"graph:sql", "backspace", "space", "r", "u"]:
            await pilot.press(key)
            typed = typed[:-1] if key == "backspace" else typed + (" " if key == "space" else key)
            query = parse_query(typed.strip())
            fresh = [i.id for i in everything if matches(i, query)]
            await wait_until(pilot, lambda: inbox.filter_text == typed.strip() and inbox._loading_rest is None
                             and inbox._loaded_for.get("pending") == typed.strip() and ids(inbox.table) == fresh,
                             what=f"the rows for {typed!r}")
        assert 0 < len(fresh) < 9
    await saver.aclose()


async def test_a_query_over_more_pending_than_it_searches_says_so(demo_db, monkeypatch):
    """A query searches the oldest SEARCH_WINDOW pending requests; with more waiting, the hint
    says how many were searched, so a match among the newer ones is not silently missing."""
    monkeypatch.setattr("inbox.screens.inbox.SEARCH_WINDOW", 5)
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        inbox = app.inbox
        await wait_until(pilot, lambda: inbox.table.row_count > 5 and inbox.counts, what="the first rows")
        await pilot.press("slash", "e")
        await wait_until(pilot, lambda: inbox._loaded_for.get("pending") == "e", what="the query's rows")
        hint = inbox._hint().plain
        assert f"searched the oldest 5 of {inbox.counts['pending']} pending · " in hint and "·  ·" not in hint
    await saver.aclose()
