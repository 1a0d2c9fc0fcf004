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
    _shown: tuple | None = None  # the bindings (_signature) the footer shows

    def _signature(self) -> tuple:
        """Everything Footer.compose reads from the screen's bindings (and its own options)."""
        return (self.compact, self.show_command_palette, *(
            (key, binding.key, binding.action, binding.description, binding.show, binding.key_display, binding.group,
             enabled, tooltip) for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()))

    def _only_enabled_changed(self, before: tuple, after: tuple) -> bool:
        """When the bindings differ only in which are enabled (the usual move to another
        request), set the shown keys' enabled state from them and say so; else False."""
        same = len(before) == len(after) and before[:2] == after[:2] and all(
            b[:-2] == a[:-2] and b[-1] == a[-1] for b, a in zip(before[2:], after[2:]))
        shown = list(self.children)
        if not same or not all(isinstance(key, FooterKey) for key in shown):
            return False
        enabled: dict[str, bool] = {}  # action -> enabled, of its first shown binding (as Footer.compose)
        for _key, _binding_key, action, _description, show, _display, _group, on, _tooltip in after[2:]:
            if show:
                enabled.setdefault(action, on)
        for key in shown:
            if key.has_class("-command-palette") or key.action not in enabled:
                continue
            disabled = not enabled[key.action]
            if key._disabled != disabled:
                key._disabled = disabled
                key.set_class(disabled, "-disabled")
        return True

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
        # What the footer is built from; the same as last time (the next request allows the same
        # keys): nothing to do, without composing the keys again to compare them.
        signature, shown_signature = self._signature(), self._shown
        if signature == shown_signature:
            return
        self._shown = signature
        if shown_signature is not None and self._only_enabled_changed(shown_signature, signature):
            return
        wanted = compose(self)  # what Footer.compose would mount now (not mounted)
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
