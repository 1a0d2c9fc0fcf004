"""Named styles for the Rich `Text` the inbox builds (cells, hints, headers, the status line),
in one place instead of style strings spread through the widgets.

Layout and the look of whole widgets live in app.tcss with theme variables (the status line's
and the dialogs' ok/error tones are classes: `-ok`, `-error`, `-busy`, coloured with
$text-success and $text-error). These are for the runs of text inside one renderable, which
TCSS cannot reach (a Keys cell with a green letter and a dim dot, a header with a bold action
and a muted thread id); their values are plain ANSI colours, as before the theme setting.
"""

from __future__ import annotations

STRONG = "bold"
MUTED = "dim"
NOTE = "italic"
OK = "green"
OK_STRONG = "bold green"
WARNING = "yellow"
WARNING_STRONG = "bold yellow"
ERROR = "red"
ERROR_STRONG = "bold red"
BRAND = "bold reverse"          # the app's name in the top bar
KEY_ON = "reverse green"        # a key that works on the selected request
KEY_OFF = "dim strike"          # a key its config forbids
KEY_NAME = "bold cyan"          # the help screen's key column
MARK = "bold magenta"           # a marked row
SEARCH_MATCH = "bold reverse"   # a word of the `/` query, where it matches

# A decided request, by its status (the list's status symbol and outcome).
STATUS = {"resolved": OK, "expired": WARNING, "cancelled": MUTED}
# Who wrote a message (the detail pane's and the thread view's recent messages).
ROLES = {"user": "bold cyan", "assistant": "bold magenta", "tool": "bold yellow"}
ROLE_OTHER = STRONG
