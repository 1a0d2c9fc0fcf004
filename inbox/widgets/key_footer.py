"""The footer: Textual's Footer, changed in place when only which keys are enabled changes.

The inbox asks for the footer to be refreshed whenever the selected request changes, because
the decision keys it allows differ from request to request. Textual's Footer answers every
such request by rebuilding itself: a new widget per key, each styled against the whole
stylesheet, which was most of the CPU a `j` cost in a real terminal (bench/README.md). This
footer rebuilds only when the keys or their words change; when only some keys became enabled
or disabled it toggles those keys' `-disabled` class, and when nothing changed it does nothing.
Several requests in a row are one update, made before the next frame (Textual's waits for one).
"""

from __future__ import annotations

from textual.compose import compose
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def _identity(key: FooterKey) -> tuple:
    """Everything about a footer key except whether it is enabled."""
    return (key.key, key.key_display, key.description, key.action, key.tooltip,
            key.has_class("-grouped"), key.has_class("-command-palette"))


class KeyFooter(Footer):
    _update_pending = False

    def bindings_changed(self, screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._update_pending:
            self._update_pending = True
            self.call_later(self._update_keys)  # before the next frame: drawn with what changed it

    async def _update_keys(self) -> None:
        self._update_pending = False
        if not self.is_attached:
            return
        wanted = compose(self)  # what Footer.compose would mount now (not mounted: cheap)
        shown = list(self.children)
        same_keys = (len(wanted) == len(shown) and all(isinstance(w, FooterKey) for w in wanted)
                     and all(isinstance(s, FooterKey) and _identity(s) == _identity(w) for s, w in zip(shown, wanted)))
        if not same_keys:
            await self.recompose()
            return
        for key, want in zip(shown, wanted):
            if key._disabled != want._disabled:
                key._disabled = want._disabled
                key.set_class(want._disabled, "-disabled")
