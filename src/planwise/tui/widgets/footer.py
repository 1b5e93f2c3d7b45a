"""The caseload's footer: Textual's Footer, with the same keys and look, built once
rather than once per change of the screen's bindings (issue 12, the first page).

Textual's Footer rebuilds every key whenever the screen's bindings may have changed
(the screen mounting, each move of the focus): three times before the caseload's
first paint, for the same seven keys. Each key then had its `-compact` class added (the
key's own default) and removed again (the footer's), restyling the key and its two parts
twice more. Here the keys are built as the footer composes, a rebuild happens only
when what the footer shows would differ, and a key starts with the footer's setting, so
that nothing is restyled for nothing. What is shown, and how, is Textual's own code
(compose); the app's stylesheet gives the look (the same as every other screen's footer).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class QuietFooter(Footer):
    _shown: Hashable | None = None

    def _keys_shown(self) -> Hashable:
        """Everything compose reads that can change: the shown bindings of the screen (with
        whether each is enabled, and its tooltip), the command palette's, and the footer's
        own settings. Bindings not shown (the list's cursor keys) make no difference."""
        bindings = self.screen.active_bindings
        palette = bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return (tuple((binding, enabled, tooltip) for _node, binding, enabled, tooltip
                      in bindings.values() if binding.show),
                palette[1:] if palette else None,
                self.show_command_palette, self.compact, self.combine_groups)

    def compose(self) -> Iterator[Widget]:  # type: ignore[override]
        # The keys at once, as the screen composes: Textual's footer waits for the first
        # change of bindings and then builds them, one more layout before the first page.
        self.set_reactive(Footer._bindings_ready, True)
        self._shown = self._keys_shown()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # The footer's value before the key's default is watched: data_bind below
                # then changes nothing, and the key is styled once, as it mounts.
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    async def recompose(self) -> None:
        if self.is_attached and self._shown == self._keys_shown():
            return  # the same keys: nothing to rebuild
        await super().recompose()
