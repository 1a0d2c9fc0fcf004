"""The effective keys: the bindings' defaults with the reviewer's remap (config `[keys]`,
INBOX_KEY_*) applied, checked before the app starts.

A remap is refused (SettingsError, so `inbox` exits 2 with one line) when it names a binding
id no screen has, gives a key to two ids that are active at the same time (the main list's
ids among themselves, each dialog's ids among themselves), or takes a key the list needs for
itself (enter opens, tab moves focus, ctrl+c and ctrl+q quit). Textual would otherwise apply
such a remap silently, and one of the two keys would just stop working.

Every hint on screen (the Keys column, the detail pane, the status line, dialogs, help) asks
`Keys.label(binding_id)` for the key to show, so it names the key that actually works.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from textual.binding import Binding
from textual.keys import _normalize_key_list  # the normalization Textual's own keymap applies

from inbox.config import SettingsError

# Shown by their usual names rather than Textual's key names.
KEY_NAMES = {"slash": "/", "question_mark": "?", "colon": ":", "space": "space", "escape": "esc",
             "full_stop": ".", "comma": ",", "minus": "-", "plus": "+", "underscore": "_"}
# Keys the list's own widgets take before any binding of ours is asked.
RESERVED = {"enter": "enter opens the selected request", "tab": "tab moves the focus",
            "shift+tab": "shift+tab moves the focus", "ctrl+c": "ctrl+c quits", "ctrl+q": "ctrl+q quits"}
HOW_TO_FIX = "fix it in the config file's [keys] table or the INBOX_KEY_* variable (`?` lists every id)"


def split_keys(spec: str) -> tuple[str, ...]:
    """`"y, ?"` -> ("y", "question_mark"): Textual's key names, in order."""
    return tuple(k.strip() for k in _normalize_key_list(spec).split(",") if k.strip())


def key_name(key: str) -> str:
    """How a key is written for people: `question_mark` -> `?`."""
    return KEY_NAMES.get(key, key)


class Keys:
    """The effective keys of every binding id (after the remap)."""

    def __init__(self, effective: Mapping[str, tuple[str, ...]]):
        self.effective = dict(effective)

    def label(self, binding_id: str) -> str:
        """The first key of a binding, as people write it ("" when the id is unknown)."""
        keys = self.effective.get(binding_id) or ("",)
        return key_name(keys[0])

    def labels(self, binding_id: str, separator: str = ", ") -> str:
        """Every key of a binding, as people write them."""
        return separator.join(key_name(k) for k in self.effective.get(binding_id, ()))

    def letter(self, binding_id: str) -> str:
        """A one-character key of the binding for compact hints (the Keys column), else its first key."""
        keys = [key_name(k) for k in self.effective.get(binding_id, ())]
        return next((k for k in keys if len(k) == 1), keys[0] if keys else "")


def effective_keys(groups: Mapping[str, Iterable[Binding]], remap: Mapping[str, str]) -> Keys:
    """The keys of every binding id in `groups` (name -> bindings active together) with `remap`
    (binding id -> comma-separated keys) applied; SettingsError if the remap is refused."""
    groups = {name: list(bindings) for name, bindings in groups.items()}
    known = {b.id for bindings in groups.values() for b in bindings if b.id}
    unknown = sorted(set(remap) - known)
    if unknown:
        raise SettingsError(f"keys: no binding has the id {', '.join(map(repr, unknown))}; "
                            f"the ids are {', '.join(sorted(known))}. {HOW_TO_FIX}")
    effective: dict[str, tuple[str, ...]] = {}
    for name, bindings in groups.items():
        owner: dict[str, str] = {}  # key -> binding id, within this group
        for binding in bindings:
            if binding.id is None:
                continue
            keys = split_keys(remap[binding.id]) if binding.id in remap else split_keys(binding.key)
            effective[binding.id] = keys
            for key in keys:
                _check_free(key, binding.id, owner.get(key), name, remap)
                owner[key] = binding.id
    return Keys(effective)


def _check_free(key: str, binding_id: str, other: str | None, group: str, remap: Mapping[str, str]) -> None:
    remapped = binding_id in remap or (other is not None and other in remap)
    if other is not None and other != binding_id and remapped:
        mine, theirs = (binding_id, other) if binding_id in remap else (other, binding_id)
        raise SettingsError(f"keys: {key_name(key)!r} is given to both {mine} and {theirs} ({group}); "
                            f"give {mine} another key, or remap {theirs} too. {HOW_TO_FIX}")
    if binding_id in remap and key in RESERVED:
        raise SettingsError(f"keys: {binding_id} = {key_name(key)!r} cannot be used: {RESERVED[key]}. "
                            f"Give {binding_id} another key. {HOW_TO_FIX}")
