"""The keys of the dialogs and secondary screens, by binding id, declared here rather than in
each screen's module: the app checks a `[keys]` remap against every key before it starts
(inbox/keymap.py), and doing that from this table does not import screens the reviewer may
never open (their widgets, TextArea, Markdown's parser: a fifth of the app's import time).
The list's own keys are inbox/actions.py's.

Each entry: where the keys work (as error messages name it), and the screen's BINDINGS.
"""

from __future__ import annotations

from textual.binding import Binding

DIALOG_BINDINGS: dict[str, tuple[str, list[Binding]]] = {
    "stepper": ("the stepper", [
        # One vocabulary with the list: `a` accepts, `i` skips the tool (the multi-action format
        # calls that "reject"), `x` is not used here (it expands arguments in the list).
        Binding("a", "decide('approve')", "Accept", id="step.approve"),
        Binding("e", "edit", "Edit args", id="step.edit"),
        Binding("i", "decide('reject')", "Reject (skip the tool)", id="step.reject"),
        Binding("r", "respond", "Respond", id="step.respond"),
        Binding("A", "approve_all", "Accept all", id="step.approve_all"),
        Binding("n,j,down", "move(1)", "Next", id="step.next"),
        Binding("p,k,up", "move(-1)", "Previous", id="step.previous"),
        Binding("ctrl+s", "submit", "Send all", id="step.submit"),
        Binding("escape", "cancel", "Cancel", id="step.cancel"),
    ]),
    "edit": ("the edit dialog", [
        Binding("ctrl+s", "submit", "Submit edit", id="edit.submit"),
        Binding("escape", "cancel", "Cancel", id="edit.cancel", priority=True),
        Binding("ctrl+o", "external_editor", "Open in $EDITOR", id="edit.external", priority=True),
    ]),
    "respond": ("the answer dialog", [
        Binding("ctrl+s", "submit", "Send", id="respond.submit"),
        Binding("escape", "cancel", "Cancel", id="respond.cancel", priority=True),
        Binding("ctrl+j", "toggle_json", "JSON on/off", id="respond.json"),
        Binding("ctrl+r", "next_preset", "Next preset reason", id="respond.preset", priority=True),
    ]),
    "confirm": ("the confirm dialog", [
        Binding("y", "yes", "Yes", id="confirm.yes"),
        Binding("n,escape", "no", "No", id="confirm.no"),
    ]),
    "help": ("the help screen", [Binding("escape,q,question_mark", "close", "Close", id="help.close")]),
    "thread": ("the thread view", [Binding("escape,q,t", "close", "Back", id="thread.close")]),
    "full": ("the full view", [Binding("escape,q,v", "close", "Close", id="full.close")]),
    "rules": ("the rules", [Binding("escape,q", "close", "Close", id="rules.close"),
                            Binding("d", "revoke", "Revoke", id="rules.revoke")]),
    "rule": ("the rule dialog", [Binding("ctrl+s", "submit", "Add rule", id="rule.submit", priority=True),
                                 Binding("escape", "cancel", "Cancel", id="rule.cancel", priority=True)]),
}


def dialog_bindings(name: str) -> list[Binding]:
    """The BINDINGS of dialog `name` (a key of DIALOG_BINDINGS)."""
    return list(DIALOG_BINDINGS[name][1])


__all__ = ["DIALOG_BINDINGS", "dialog_bindings"]
