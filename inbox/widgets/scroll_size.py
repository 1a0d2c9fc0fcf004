"""Changing a scrolling widget's scroll size without laying out the whole screen.

Setting Textual's `virtual_size` lays out the screen and repaints the widget whole. Only a
scroll bar that appears or goes changes anything outside the widget (it takes columns or a
row), so otherwise the size is set and the scroll bars are updated in place: the detail pane
showing another request, and the list growing as pages are appended below what is seen, no
longer relayout the screen (bench/README.md, issue 16).
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


def set_scroll_size(widget: Widget, size: Size) -> bool:
    """Give `widget` the scroll size `size`; True when that needed a layout of the screen (a
    scroll bar appeared or went). The caller repaints what of the widget changed."""
    if size == widget.virtual_size:
        return False
    if not widget.is_attached:
        widget.virtual_size = size
        return True
    bars = widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)  # the scroll bars' sizes and visibility (Textual's, private)
    if (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar) != bars:
        widget.refresh(layout=True)
        return True
    return False
