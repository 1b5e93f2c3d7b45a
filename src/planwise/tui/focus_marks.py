"""The focused field's label is marked (reverse, bold: styles/app.tcss, `.-focus-label`),
so where typing goes is plain with or without colour.

Textual marks a focused compact field with a one-step shade of its background, which
NO_COLOR removes altogether: in the sign dialog one Tab moved to a stop nobody could
see. The label is the field's own (the `Label` just before the field, else the first
`Label` of its `.field` row); CSS `:focus-within` cannot do this, as Textual does not restyle a
container's children when the focus leaves it.
"""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.widget import Widget
from textual.widgets import Input, Label, RadioSet, Select, Switch, TextArea
from textual.widgets._toggle_button import ToggleButton

MARK = "-focus-label"
FIELDS = (Input, TextArea, Select, RadioSet, ToggleButton, Switch)  # what a label names


def label_of(widget: Widget) -> Label | None:
    """The label that names `widget`, when it is a field that has one (never a title)."""
    if not isinstance(widget, FIELDS):
        return None
    parent = widget.parent
    if not isinstance(parent, Widget):
        return None
    siblings = list(parent.children)
    index = siblings.index(widget) if widget in siblings else 0
    before = siblings[index - 1] if index > 0 else None
    if isinstance(before, Label):
        found: Label | None = before
    elif parent.has_class("field"):
        found = next((w for w in siblings if isinstance(w, Label)), None)
    else:
        found = None
    return None if found is None or found.has_class("dialog-title") else found


class FocusMarksApp(App[None]):
    """Marks the label of whichever field has the focus."""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        label = label_of(event.widget)
        if label is not None:
            label.add_class(MARK)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        label = label_of(event.widget)
        if label is not None:
            label.remove_class(MARK)
