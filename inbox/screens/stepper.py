"""Several actions in one request (multi-action format, or a list of HumanInterrupts): decide
each in turn, then send all decisions together. `esc` closes it, asking first when some
actions are already decided (they would be lost)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.edits import diff_summary
from inbox.review import OUTCOME_WORDS, InboxItem
from inbox.widgets.detail import diff_text
from inbox.screens.confirm import ask_before_discarding
from inbox.screens.edit import EditArgsScreen
from inbox.screens.respond import RespondScreen
from inbox.text import defang, literal, one_line, readable


class StepperScreen(ModalScreen[Any]):
    """Returns the complete resume value, or None when cancelled."""

    BINDINGS = dialog_bindings("stepper")  # inbox/dialog_keys.py

    def __init__(self, item: InboxItem, keys: Keys, *, reject_reasons: list[str] | None = None):
        super().__init__()
        self.reject_reasons = list(reject_reasons or [])
        self.item = item
        self.keys = keys
        self.position = 0
        self.decisions: list[dict | None] = [None] * len(item.items)
        self.hitl = item.kind == "hitl"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="stepper-dialog"):
            yield Static(id="step-title", classes="dialog-title")
            yield Static(id="step-list")
            with VerticalScroll(id="step-body"):
                yield Markdown(id="step-description")
                yield Static(id="step-args")
            yield Static(id="step-keys")

    def on_mount(self) -> None:
        self._redraw()

    def _kind_names(self) -> dict[str, str]:
        # The same keys work in both formats; the stored decision uses the format's own words.
        return ({"approve": "approve", "reject": "reject", "ignore": "reject", "respond": "respond", "edit": "edit"}
                if self.hitl else
                {"approve": "accept", "reject": "ignore", "ignore": "ignore", "respond": "response", "edit": "edit"})

    def _allowed(self, verb: str) -> bool:
        return self._kind_names()[verb] in self.item.items[self.position].allowed

    def _redraw(self) -> None:
        entry = self.item.items[self.position]
        done = sum(d is not None for d in self.decisions)
        self.query_one("#step-title", Static).update(Text.assemble(
            (f"Action {self.position + 1} of {len(self.item.items)}: ", styles.STRONG), literal(one_line(entry.action, 40), styles.STRONG),
            (f"   {done}/{len(self.item.items)} decided", styles.MUTED)))
        lines = Text()
        for i, (other, decision) in enumerate(zip(self.item.items, self.decisions)):
            pointer = "▶ " if i == self.position else "  "
            label = OUTCOME_WORDS.get(decision["type"], decision["type"]) if decision else "undecided"
            if decision and decision["type"] == "edit" and isinstance(other.args, dict):
                label = f"edited ({diff_summary(other.args, self._edited_args(i), 30)})"
            lines.append(f"{pointer}{i + 1}. ", style=styles.STRONG if i == self.position else "")
            lines.append(literal(one_line(other.action, 30)))
            lines.append(f"  {label}\n", style=styles.OK if decision else styles.WARNING)
        self.query_one("#step-list", Static).update(lines)
        self.query_one("#step-description", Markdown).update(defang(entry.description or ""))
        edited = self._edited_args(self.position)
        shown = edited if edited is not None else entry.args
        parts = []
        if edited is not None and isinstance(entry.args, dict):
            parts += [Text("Your edit (- asked for, + to be sent); below, the arguments to be sent:",
                           style=styles.WARNING_STRONG), diff_text(entry.args, edited)]
        full, lexer = readable(shown)  # multi-line strings as real lines
        parts.append(Syntax(full, lexer, theme="ansi_dark", background_color="default", word_wrap=True))
        self.query_one("#step-args", Static).update(Group(*parts))
        keys = Text()
        key = self.keys.label
        for verb in ("approve", "edit", "reject", "respond"):
            ok = self._allowed(verb)
            word = "accept" if verb == "approve" else verb
            keys.append(f" {key('step.' + verb)} {word} ", style=styles.KEY_ON if ok else styles.KEY_OFF)
            keys.append(" ")
        keys.append(f"  {key('step.approve_all')} accept all · {key('step.next')}/{key('step.previous')} move · "
                    f"{key('step.submit')} send all · {key('step.cancel')} cancel", style=styles.MUTED)
        self.query_one("#step-keys", Static).update(keys)

    def _edited_args(self, index: int) -> dict | None:
        """The arguments of this action's edit decision, or None when it is not edited."""
        decision = self.decisions[index]
        if decision is None or decision["type"] != "edit":
            return None
        return decision["edited_action"]["args"] if self.hitl else decision["args"]["args"]

    def _set(self, decision: dict) -> None:
        self.decisions[self.position] = decision
        if self.position < len(self.decisions) - 1:
            self.position += 1
        self._redraw()

    def action_move(self, delta: int) -> None:
        self.position = max(0, min(len(self.decisions) - 1, self.position + delta))
        self._redraw()

    def action_decide(self, verb: str) -> None:
        if not self._allowed(verb):
            word = {"approve": "accepting", "reject": "rejecting", "edit": "editing", "respond": "responding"}[verb]
            self.notify(f"{word.capitalize()} is not allowed for this action by the request's config.",
                        severity="warning")
            return
        if self.hitl and verb == "reject":  # a multi-action reject carries the reviewer's reason
            def reasoned(reason: Any) -> None:
                if reason is not None:
                    self._set({"type": "reject", "message": reason} if reason else {"type": "reject"})
            self.app.push_screen(RespondScreen(
                f"Reject {self.item.items[self.position].action}", "The tool does not run; the agent gets your "
                "reason (optional: send nothing to reject without one).", allow_json=False, keys=self.keys,
                presets=self.reject_reasons, allow_empty=True), reasoned)
            return
        self._set({"type": self._kind_names()[verb]} if self.hitl or verb != "approve" else {"type": "accept"})

    def action_approve_all(self) -> None:
        verb = self._kind_names()["approve"]
        refused = [e.action for e in self.item.items if verb not in e.allowed]
        if refused:
            self.notify(f"Cannot accept all: accepting is not allowed for {', '.join(refused)}.", severity="warning")
            return
        self.decisions = [{"type": verb} for _ in self.item.items]
        self._redraw()
        self.action_submit()

    def action_edit(self) -> None:
        if not self._allowed("edit"):
            self.notify("Editing is not allowed for this action by the request's config.", severity="warning")
            return
        entry = self.item.items[self.position]

        def edited(args: dict | None) -> None:
            if args is None:
                return
            if self.hitl:
                self._set({"type": "edit", "edited_action": {"name": entry.action, "args": args}})
            else:
                self._set({"type": "edit", "args": {"action": entry.action, "args": args}})

        self.app.push_screen(EditArgsScreen(entry.action, entry.args, entry.args_schema, self.keys,
                                            start=self._edited_args(self.position)), edited)

    def action_respond(self) -> None:
        if not self._allowed("respond"):
            self.notify("Responding is not allowed for this action by the request's config.", severity="warning")
            return

        def answered(text: Any) -> None:
            if text is None:
                return
            self._set({"type": "respond", "message": text} if self.hitl else {"type": "response", "args": text})

        self.app.push_screen(RespondScreen(f"Respond to {self.item.items[self.position].action}",
                                           "Your words go back to the agent instead of running the tool.",
                                           allow_json=False, keys=self.keys), answered)

    def action_submit(self) -> None:
        missing = [str(i + 1) for i, d in enumerate(self.decisions) if d is None]
        if missing:
            self.notify(f"Decide action(s) {', '.join(missing)} first; nothing was sent.", severity="warning")
            return
        decisions = [d for d in self.decisions if d is not None]
        self.dismiss({"decisions": decisions} if self.hitl else decisions)

    def action_cancel(self) -> None:
        decided = sum(d is not None for d in self.decisions)
        if decided:
            ask_before_discarding(self, f"{decided} decision{'s' if decided != 1 else ''}", self.keys)
        else:
            self.dismiss(None)
