"""The inbox's commands, declared once: id, default keys, what it does, its palette label,
whether the footer shows it, whether it decides a request.

Everything that lists commands is generated from `ACTIONS`: the list's key bindings
(`Binding(..., id=...)`, so every key can be remapped by id), the command palette, the `?`
help screen and the footer (`footer=True`). tests/inbox/test_actions.py checks README.md's
"## Keys" table against it, so the documentation cannot drift from the keys either.

Order matters: it is the order of the footer and of the help screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    id: str                      # the binding id: `[keys]` in the config file remaps it
    keys: str                    # default keys, Textual names, comma-separated
    action: str                  # the Textual action the keys run
    description: str             # the footer's and the help screen's words
    palette: str | None = None   # the command palette's label (None: not in the palette)
    palette_help: str | None = None  # the palette's second line (default: "Same as its key (k)")
    footer: bool = False         # shown in the footer (it keeps to 80 columns)
    decision: bool = False       # decides the selected request: disabled where its config forbids it
    scope: str = "screen"        # whose BINDINGS: the list's screen, or the app (the palette key)


TABS = (("pending", "Pending"), ("resolved", "Resolved"), ("errors", "Errors"), ("all", "All"))

ACTIONS: tuple[Action, ...] = (
    Action("accept", "a", "accept", "Accept", "Accept selected request", footer=True, decision=True),
    Action("edit", "e", "edit", "Edit", "Edit arguments of selected request", footer=True, decision=True),
    Action("respond", "r", "respond", "Respond", "Respond to selected request", footer=True, decision=True),
    Action("ignore", "i", "ignore", "Ignore", "Ignore selected request", footer=True, decision=True),
    Action("undo", "u", "undo", "Undo", "Undo the last decision", "Within its undo window, before it is sent"),
    Action("mark", "space", "mark", "Mark"),
    Action("accept_marked", "A", "accept_marked", "Accept marked", "Accept all marked requests"),
    Action("open_thread", "t", "open_thread", "Thread", "Open the thread view", footer=True),
    Action("filter", "slash", "filter", "Filter", "Search requests (words, graph: action: thread: status:)",
           footer=True),
    Action("full_view", "v", "full_view", "View", "View the request in full",
           "Description, every argument and the thread's messages, nothing cut", footer=True),
    Action("expand", "x", "expand", "Expand args"),
    Action("propose_rule", "p", "propose_rule", "Rule", "Always accept this…",
           "Propose a rule from the selected request: tool, argument pattern, thread, expiry"),
    Action("rules", "P", "rules", "Rules", "Show the rules", "Every active rule; d revokes one"),
    Action("sort", "s", "sort", "Sort", "Sort the list", "Cycle: age, graph, deadline, action"),
    Action("group", "z", "group", "Group", "Group the list", "Cycle: no groups, by thread, by graph"),
    Action("search_next", "n", "search_next", "Next match"),
    Action("search_previous", "N", "search_previous", "Previous match"),
    Action("cursor_down", "j,down", "cursor_down", "Down"),
    Action("cursor_up", "k,up", "cursor_up", "Up"),
    Action("cursor_top", "g,home", "cursor_top", "Top"),
    Action("cursor_bottom", "G,end", "cursor_bottom", "Bottom"),
    *(Action(f"tab_{key}", str(n), f"tab('{key}')", label, f"Show {label}", f"List the {label.lower()} requests")
      for n, (key, label) in enumerate(TABS, start=1)),
    Action("reload", "R", "reload", "Refresh", "Refresh the list"),
    Action("clear_filter", "escape", "clear_filter", "Clear filter", "Clear the filter"),
    Action("help", "question_mark", "help", "Help", "Show all keys", footer=True),
    Action("palette", "colon,ctrl+p", "command_palette", "Palette", scope="app"),
    Action("quit", "q", "quit", "Quit"),  # not in the footer: it keeps to 80 columns
)
BY_ID = {a.id: a for a in ACTIONS}
DECISIONS = frozenset(a.action for a in ACTIONS if a.decision)


def bindings(scope: str | None = None) -> list[Binding]:
    """The BINDINGS of `scope` ("screen": the list's screen; "app": the app's), or all of them."""
    return [Binding(a.keys, a.action, a.description, id=a.id, show=a.footer)
            for a in ACTIONS if scope is None or a.scope == scope]


def palette_entries() -> Iterator[Action]:
    """The actions the command palette offers (each runs like its key)."""
    return (a for a in ACTIONS if a.palette)


def help_rows(labels: Callable[[str], str], label: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """(keys, what they do, binding id) for the `?` screen: every action, then the keys of the
    dialogs and the ones Textual gives (enter, ctrl+c). `labels`/`label`: Keys.labels/Keys.label."""
    rows = [(labels(a.id), a.description, a.id) for a in ACTIONS]
    rows += [("enter", "open the thread, or step through a request with several actions", ""),
             ("ctrl+c", "quit", ""),
             (" / ".join(dict.fromkeys((label("edit.submit"), label("respond.submit")))),
              "in a dialog: submit (edit, respond)", "*.submit"),
             (label("respond.json"), "in the answer dialog: send the text as JSON", "respond.json"),
             (f"{label('step.next')} / {label('step.previous')}, {label('step.reject')}, {label('step.approve_all')}",
              "in the stepper: next / previous action, reject (skip the tool), accept all", "step.*"),
             (label("edit.external"), "in the edit dialog: edit the arguments in $EDITOR", "edit.external"),
             (label("respond.preset"), "when rejecting: put in the next preset reason", "respond.preset"),
             (label("rules.revoke"), "in the Rules screen: revoke the selected rule", "rules.revoke")]
    return rows
