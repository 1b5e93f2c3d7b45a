"""One instrument as a form: digit keys answer the current item and move on.

Three modes, as the instruments are scored (planwise.clinical.instruments):
- ``sum``: one number per item, from the item's allowed values (AUDIT items
  9 and 10 take only 0, 2 or 4); the digit of an option answers it.
- ``asq``: yes/no per question (y/n, or 1/0); the acuity question may stay
  unanswered (it is asked only after a yes).
- ``mdq``: 13 yes/no symptoms, then "same period" yes/no, then the
  impairment level by its number (0 none .. 3 serious).

Item text is shown only where the instrument's licence allows it; otherwise
"Item N" (the therapist reads from their own licensed copy). The total and
band update as answers come in: complete answers are scored by the
instrument itself; partial ones show how many are answered and the running sum.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from planwise.clinical.instruments import Instrument
from planwise.errors import InputError
from planwise.tui import keymap

DIGITS = "0123456789"
ANSWER_KEYS: dict[str, str] = {
    key.strip(): k.action for k in keymap.KEYMAP["instrument"]
    if k.action in ("answer_digit", "answer_yes", "answer_no") for key in k.keys.split(",")}


class InstrumentForm(Vertical, can_focus=True):
    """A focusable form for one instrument; its answers in contract shape via `data()`."""

    HELP_AREA = "instrument"
    BINDINGS = keymap.bindings("instrument")

    DEFAULT_CSS = """
    InstrumentForm { height: 1fr; }
    InstrumentForm .form-title { text-style: bold; }
    InstrumentForm .form-note { color: $text-muted; }
    InstrumentForm .form-options { background: $boost; }
    InstrumentForm .form-items { height: 1fr; }
    InstrumentForm .form-row { height: auto; }
    InstrumentForm .row-key { width: 9; }
    InstrumentForm.-wide-keys .row-key { width: 14; }
    InstrumentForm .row-text { width: 1fr; padding: 0 1 0 0; }
    InstrumentForm .form-row.-current { text-style: bold; background: $boost; }
    InstrumentForm .form-status { height: auto; max-height: 4; border-top: solid $accent; }
    InstrumentForm:focus .form-row.-current { background: $accent 40%; }
    InstrumentForm .form-title, InstrumentForm .form-note, InstrumentForm .form-options {
        height: auto; }
    """

    class Changed(Message):
        """Answers or the current item changed."""

        def __init__(self, form: InstrumentForm, answered: bool) -> None:
            super().__init__()
            self.form = form
            self.answered = answered

    def __init__(self, inst: Instrument, data: Any = None, position: int = 0,
                 *, title: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.inst = inst
        self.form_title = title or f"{inst.name}: {inst.title}"
        self.values: list[Any] = self._from_data(data)
        self.position = max(0, min(position, len(self.values) - 1))
        self.message = ""

    # -- rows ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.inst.kind

    @property
    def rows(self) -> int:
        n = self.inst.scoring.items
        return n + 2 if self.kind == "mdq" else n

    def _levels(self) -> list[str]:
        return list(self.inst.scoring.impairment_levels or [])

    def _acute_row(self) -> int | None:
        acute = self.inst.scoring.acute_item
        return acute - 1 if self.kind == "asq" and acute else None

    def _from_data(self, data: Any) -> list[Any]:
        n = self.inst.scoring.items
        if self.kind == "asq":
            table = data if isinstance(data, dict) else {}
            return [table.get(item.key) if isinstance(table.get(item.key), bool) else None
                    for item in self.inst.items]
        if self.kind == "mdq":
            table = data if isinstance(data, dict) else {}
            symptoms = list(table.get("symptoms") or [])
            symptoms = (symptoms + [None] * n)[:n]
            values: list[Any] = [v if isinstance(v, bool) else None for v in symptoms]
            same = table.get("same_period")
            values.append(same if isinstance(same, bool) else None)
            level = table.get("impairment")
            levels = self._levels()
            values.append(levels.index(level) if level in levels else None)
            return values
        answers = list(data) if isinstance(data, list) else []
        answers = (answers + [None] * n)[:n]
        return [v if isinstance(v, int) and not isinstance(v, bool) else None for v in answers]

    def data(self) -> Any:
        """The answers in contract shape (partial: None per unanswered item)."""
        if self.kind == "asq":
            return {item.key: v for item, v in zip(self.inst.items, self.values, strict=True)
                    if v is not None}
        if self.kind == "mdq":
            n = self.inst.scoring.items
            level = self.values[n + 1]
            return {"symptoms": list(self.values[:n]), "same_period": self.values[n],
                    "impairment": None if level is None else self._levels()[level]}
        return list(self.values)

    def row_label(self, row: int) -> str:
        n = self.inst.scoring.items
        if self.kind == "mdq" and row == n:
            return "Several of these in the same period of time?"
        if self.kind == "mdq" and row == n + 1:
            return "How much of a problem did they cause?"
        return self.inst.item_label(row + 1)

    def row_options(self, row: int) -> list[tuple[str, str]]:
        """(key, meaning) of the answers the row takes."""
        n = self.inst.scoring.items
        if self.kind == "asq" or (self.kind == "mdq" and row <= n):
            return [("y", "Yes"), ("n", "No")]
        if self.kind == "mdq":
            return [(str(i), level) for i, level in enumerate(self._levels())]
        return [(str(o.value), o.label) for o in self.inst.options_for(row + 1)]

    # -- progress and score ------------------------------------------------------------------
    def required_rows(self) -> list[int]:
        acute = self._acute_row()
        return [r for r in range(self.rows) if r != acute]

    def answered(self) -> int:
        return sum(1 for r in self.required_rows() if self.values[r] is not None)

    def complete(self) -> bool:
        return self.answered() == len(self.required_rows())

    def status(self) -> str:
        inst = self.inst
        need = len(self.required_rows())
        k = self.answered()
        lines: list[str] = []
        if k == need:
            try:
                result = inst.score(self.data())
            except InputError as exc:  # cannot happen with validated keys; shown, never raised
                lines.append(f"Not scorable: {exc.message}")
            else:
                lines.append(f"TOTAL {result.total} of {inst.max_total}  BAND {result.band_label}")
                for flag in result.flags:
                    rule = next((f for f in inst.flags if f.name == flag), None)
                    lines.append(f"! {rule.description if rule else flag}")
        else:
            lines.append(f"Answered {k} of {need}; running sum {self.running_sum()} "
                         f"(band when complete)")
            lines.extend(self._partial_flags())
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)

    def running_sum(self) -> int:
        if self.kind in ("asq", "mdq"):
            n = self.inst.scoring.items
            counted = [r for r in range(n) if r != self._acute_row()]
            return sum(1 for r in counted if self.values[r] is True)
        total = 0
        for row, value in enumerate(self.values):
            if value is None:
                continue
            if row + 1 in self.inst.reverse_items:
                allowed = self.inst.allowed_values(row + 1)
                total += allowed[0] + allowed[-1] - value
            else:
                total += value
        return total

    def _partial_flags(self) -> list[str]:
        out = []
        if self.kind == "asq":
            if any(v is True for v in self.values):
                out.append("! Positive screen so far: a suicide-risk assessment is needed")
            return out
        for rule in self.inst.flags:
            if rule.item is not None and rule.at_least is not None:
                value = self.values[rule.item - 1]
                if value is not None and value >= rule.at_least:
                    out.append(f"! {rule.description}")
        return out

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(self.form_title, classes="form-title")
        note = self.inst.stem if self.inst.stem else (
            "" if self.inst.item_text_allowed
            else "Item text not shipped (licence): read the items from your own copy.")
        yield Static(note, classes="form-note")
        yield Static("", classes="form-options")
        with VerticalScroll(classes="form-items") as items:
            items.can_focus = False
            for row in range(self.rows):
                with Horizontal(classes="form-row", id=f"row-{row}"):
                    yield Static(self._row_key(row), classes="row-key")
                    yield Static(self._row_label(row), classes="row-text")
        yield Static("", classes="form-status")

    def on_mount(self) -> None:
        self.set_class(self.kind in ("asq", "mdq"), "-wide-keys")
        # Not yet "mounted" during on_mount: draw the options and status after it.
        self.call_after_refresh(self.refresh_form, True)

    def answer_token(self, row: int) -> str:
        value = self.values[row]
        if value is None:
            return " "
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if self.kind == "mdq":
            return str(self._levels()[value])
        return str(value)

    def _row_key(self, row: int) -> Text:
        marker = ">" if row == self.position else " "
        n = self.inst.scoring.items
        number = f"{row + 1:>2}." if row < n else "  *"
        text = Text(f"{marker}{number} [")
        text.append(self.answer_token(row), style="bold")
        text.append("]")
        return text

    def _row_label(self, row: int) -> Text:
        text = Text(self.row_label(row))
        if row == self._acute_row():
            text.append(" (asked only after a yes; may stay blank)", style="italic")
        return text

    def refresh_form(self, scroll: bool = False) -> None:
        if not self.is_mounted:
            return
        for row in range(self.rows):
            widget = self.query_one(f"#row-{row}", Horizontal)
            widget.query_one(".row-key", Static).update(self._row_key(row))
            widget.set_class(row == self.position, "-current")
        keys = "  ".join(f"{k} {meaning}" for k, meaning in self.row_options(self.position))
        self.query_one(".form-options", Static).update(Text(keys))
        self.query_one(".form-status", Static).update(Text(self.status()))
        if scroll:
            self.call_after_refresh(self._scroll_to_current)

    def _scroll_to_current(self) -> None:
        if self.is_mounted:
            self.query_one(".form-items", VerticalScroll).scroll_to_widget(
                self.query_one(f"#row-{self.position}"), animate=False)

    # -- keys --------------------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        # Answer keys are handled as they arrive (in order, however fast they are
        # typed); which keys they are comes from the keymap like every binding.
        action = ANSWER_KEYS.get(event.key)
        if action is not None:
            event.stop()
            event.prevent_default()
            self.answer_key({"answer_yes": "y", "answer_no": "n"}.get(action, event.key))

    def _set(self, value: Any) -> None:
        self.values[self.position] = value
        self.message = ""
        if self.position < self.rows - 1:
            self.position += 1
        elif self.complete():
            self.message = "All answered: Tab or Ctrl+N for the next form."
        self.refresh_form(scroll=True)
        self.post_message(self.Changed(self, True))

    def _refuse(self, text: str) -> None:
        self.message = text
        self.app.bell()
        self.refresh_form()

    def answer_key(self, key: str) -> None:
        """Answer the current row with a key (a digit, y or n); refuse what it does not take."""
        row = self.position
        n = self.inst.scoring.items
        boolean_row = self.kind == "asq" or (self.kind == "mdq" and row <= n)
        if boolean_row:
            if key in ("y", "1"):
                self._set(True)
            elif key in ("n", "0"):
                self._set(False)
            else:
                self._refuse(f"{self.row_label(row)[:40]}: press y (yes) or n (no).")
            return
        if key not in DIGITS:
            self._refuse(f"{self.inst.name} item {row + 1} takes a number: press its digit.")
            return
        value = int(key)
        if self.kind == "mdq":
            if value < len(self._levels()):
                self._set(value)
            else:
                self._refuse(f"Impairment takes 0-{len(self._levels()) - 1}.")
            return
        allowed = self.inst.allowed_values(row + 1)
        if value in allowed:
            self._set(value)
        else:
            shown = ", ".join(str(v) for v in allowed)
            self._refuse(f"{self.inst.name} item {row + 1} takes only {shown}; {value} is refused.")

    def move_to(self, row: int) -> None:
        self.position = max(0, min(row, self.rows - 1))
        self.message = ""
        self.refresh_form(scroll=True)
        self.post_message(self.Changed(self, False))

    def action_answer_digit(self) -> None:
        """Bound for the keymap and F1; the digit itself is handled in on_key."""

    def action_answer_yes(self) -> None:
        self.answer_key("y")

    def action_answer_no(self) -> None:
        self.answer_key("n")

    def action_previous_item(self) -> None:
        self.move_to(self.position - 1)

    def action_next_item(self) -> None:
        self.move_to(self.position + 1)

    def action_clear_answer(self) -> None:
        self.values[self.position] = None
        self.message = ""
        self.refresh_form()
        self.post_message(self.Changed(self, True))

    def action_next_form(self) -> None:
        getattr(self.screen, "action_next_form", lambda: None)()

    def action_previous_form(self) -> None:
        getattr(self.screen, "action_previous_form", lambda: None)()
