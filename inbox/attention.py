"""Getting the reviewer's attention when new or overdue requests arrive: the terminal bell, and
a desktop notification (OSC 9 and OSC 777 to the terminal, which most terminals turn into one,
and `notify-send` where it is installed). Which ones: the config's `notify` list.

The notification's text names only counts, never agent text: no payload reaches the terminal
through an escape sequence (DESIGN.md: agent text is shown literally).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Callable


def desktop_sequences(title: str, body: str) -> str:
    """OSC 9 (iTerm2, kitty, Windows Terminal…) and OSC 777 (rxvt, foot, VTE) with our own
    fixed words; control characters are dropped so nothing can end the sequence early."""
    clean = lambda s: "".join(c for c in s if c.isprintable() and c not in ";\x1b\x07")  # noqa: E731
    return f"\x1b]9;{clean(title)}: {clean(body)}\x07\x1b]777;notify;{clean(title)};{clean(body)}\x07"


def notify_desktop(title: str, body: str, write: Callable[[str], None]) -> None:
    write(desktop_sequences(title, body))
    command = shutil.which("notify-send")
    if command:
        try:  # fire and forget: never wait on the desktop
            subprocess.Popen([command, "--app-name=Agent Inbox", title, body], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        except OSError:
            pass
