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
    before = widget.virtual_size
    widget.set_reactive(Widget.virtual_size, size)
    widget._refresh_scrollbars()  # which scroll bars are shown (Textual's, private)
    if (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar) != bars:
        widget._scroll_update(size)  # the scroll bars' sizes (Textual's, private)
        widget.refresh(layout=True)
        return True
    if widget.show_vertical_scrollbar and widget.styles.scrollbar_size_vertical:
        window = widget.container_size.height - widget.scrollbar_size_horizontal
        _set_bar(widget.vertical_scrollbar, before.height, size.height, window)
    if widget.show_horizontal_scrollbar and widget.styles.scrollbar_size_horizontal:
        window = widget.container_size.width - widget.scrollbar_size_vertical
        _set_bar(widget.horizontal_scrollbar, before.width, size.width, window)
    widget.scroll_x = widget.validate_scroll_x(widget.scroll_x)
    widget.scroll_y = widget.validate_scroll_y(widget.scroll_y)
    return False


def _set_bar(bar, before: int, after: int, window: int) -> None:
    """Textual repaints a scroll bar whenever its widget's scroll size is set (2–3 ms for the
    detail pane's 38 rows, at every move). A bar whose content fits its window, before and
    after, is drawn as an empty track either way: its sizes are set without a repaint."""
    if before <= window and after <= window and bar.window_size == window:
        bar.set_reactive(type(bar).window_virtual_size, after)
    else:
        bar.window_virtual_size = after
        bar.window_size = window
        bar.refresh()
