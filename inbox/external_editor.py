"""Editing text in the reviewer's own editor ($VISUAL, else $EDITOR): the arguments are written
to a temporary .json file (0600), the editor runs on it, and the file's text comes back.

The edit dialog suspends the app around this (App.suspend), so the editor has the terminal;
what comes back is checked like typed text (syntax, then the tool's schema)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import Mapping


class EditorError(Exception):
    """No editor is configured, it could not be started, or it failed."""


def editor_command(env: Mapping[str, str] = os.environ) -> list[str]:
    command = env.get("VISUAL") or env.get("EDITOR")
    if not command or not command.strip():
        raise EditorError("no editor set: set $EDITOR (or $VISUAL), e.g. EDITOR=vim or EDITOR='code --wait'")
    return shlex.split(command)


def edit_text(text: str, env: Mapping[str, str] = os.environ) -> str:
    """`text` after the reviewer edited it in their editor (EditorError if that failed)."""
    command = editor_command(env)
    handle, path = tempfile.mkstemp(prefix="inbox-args-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            finished = subprocess.run([*command, path])
        except OSError as error:
            raise EditorError(f"could not start the editor {command[0]!r}: {error}") from None
        if finished.returncode != 0:
            raise EditorError(f"the editor {command[0]!r} exited with status {finished.returncode}; "
                              "the text in the dialog is unchanged")
        with open(path, encoding="utf-8") as file:
            return file.read()
    finally:
        os.unlink(path)
