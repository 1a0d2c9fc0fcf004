"""The filter box: Textual's Input without a layout of the whole screen per letter typed.

Input sets its scroll size to its text's width on every change (`virtual_size`, which lays
out the screen). Only a scroll bar appearing or going would change anything outside the box,
so the size is set in place (scroll_size.py) and the box repaints itself: one full layout,
with the repaint of every visible widget that follows it, less per letter (bench/README.md,
issue 16).
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Input

from inbox.widgets.scroll_size import set_scroll_size


class FilterInput(Input):
    def _watch_value(self, value: str) -> None:
        if self.suggester is None and not self.styles.auto_dimensions:
            # Set first, in place: Textual's watcher then finds the size it sets unchanged.
            set_scroll_size(self, Size(self.content_width, 1))
            self.refresh()
        super()._watch_value(value)  # the Changed message, the cursor


__all__ = ["FilterInput"]
