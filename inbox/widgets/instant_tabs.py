"""The tabs: Textual's Tabs without the underline's slide.

The slide animates for 0.3 s at the screen's frame rate: on a tab switch it composed a dozen
extra frames (each one a pass of the compositor over the changed regions, the new tab's list
among them) while the list was loading, for CPU the switch itself needed (bench/README.md).
The underline now jumps to the active tab.
"""

from __future__ import annotations

from textual.widgets import Tabs


class InstantTabs(Tabs):
    def _highlight_active(self, animate: bool = True) -> None:
        # Textual's hook for moving the underline (private, and stable since Textual 0.x).
        super()._highlight_active(animate=False)
