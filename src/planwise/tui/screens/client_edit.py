"""Edit a client's current information: trauma and significant events first, then contact,
emergency contacts, care providers, past diagnoses and treatment. Lists are one entry a
line, fields separated by "|". Kept as a draft as you type; Ctrl+S saves."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static, TextArea

from planwise.store.models import (
    CareProvider,
    ClientInfo,
    Contact,
    EmergencyContact,
    PastDiagnosis,
    PastTreatment,
    SignificantEvent,
)
from planwise.tui import keymap
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.services import today
from planwise.tui.widgets import plan_model as pm

SCALARS = (("name", "Name"), ("date_of_birth", "Born"), ("pronouns", "Pronouns"),
           ("phone", "Phone"), ("email", "Email"), ("address", "Address"),
           ("preferred", "Prefers"))
CONTACT = ("phone", "email", "address", "preferred")
LISTS = (
    ("significant_events", "Trauma and significant events", "date | what happened"),
    ("emergency_contacts", "Emergency contacts", "name | relationship | phone"),
    ("care_providers", "Care providers", "name | role | organisation | phone"),
    ("past_diagnoses", "Past diagnoses", "description | code | when"),
    ("past_treatment", "Past treatment", "description | provider | when | outcome"),
)


class EntryError(ValueError):
    pass


def _cells(line: str, n: int) -> list[str | None]:
    parts = [p.strip() for p in line.split("|")]
    if len(parts) > n:  # extra bars belong to the first (free text) field
        parts = ["|".join(parts[: len(parts) - n + 1]).strip(), *parts[len(parts) - n + 1:]]
    parts += [""] * (n - len(parts))
    return [p or None for p in parts]


def _date(text: str | None, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise EntryError(f"{what}: {text!r} is not a date like 2019-03-01") from None


def event_line(e: SignificantEvent) -> str:
    return f"{e.date} | {e.text}" if e.date else e.text


def lines_of(info: ClientInfo, field: str) -> str:
    if field == "significant_events":
        return "\n".join(event_line(e) for e in info.significant_events)
    if field == "emergency_contacts":
        rows: list[list[str | None]] = [[e.name, e.relationship, e.phone]
                                        for e in info.emergency_contacts]
    elif field == "care_providers":
        rows = [[p.name, p.role, p.organisation, p.phone] for p in info.care_providers]
    elif field == "past_diagnoses":
        rows = [[d.description, d.code, d.when] for d in info.past_diagnoses]
    else:
        rows = [[t.description, t.provider, t.when, t.outcome] for t in info.past_treatment]
    out = []
    for r in rows:
        while r and not r[-1]:
            r = r[:-1]
        out.append(" | ".join(x or "" for x in r))
    return "\n".join(out)


def parse_events(text: str, old: list[SignificantEvent]) -> list[SignificantEvent]:
    """'2019-03-01 | text' or 'text'; an event already recorded keeps its recorded date."""
    recorded = {(e.date, e.text): e.recorded for e in old}
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        first, _, rest = line.partition("|")
        date: dt.date | None = None
        body = line.strip()
        if rest and (not first.strip() or _looks_like_date(first.strip())):
            date = _date(first.strip(), f"event line {n}")
            body = rest.strip()
        if not body:
            raise EntryError(f"event line {n}: what happened is missing")
        out.append(SignificantEvent(text=body, date=date,
                                    recorded=recorded.get((date, body), today())))
    return out


def _looks_like_date(text: str) -> bool:
    return len(text) >= 4 and text[:4].isdigit()


def build_info(values: dict[str, str], old: ClientInfo) -> ClientInfo:
    """The edited fields as ClientInfo; EntryError or ValidationError when a field is wrong."""
    def rows(field: str, n: int) -> list[list[str | None]]:
        return [_cells(line, n) for line in values[field].splitlines() if line.strip()]

    def need(value: str | None, what: str, n: int) -> str:
        if not value:
            raise EntryError(f"{what} line {n}: the first field is needed")
        return value

    contacts = [EmergencyContact(name=need(r[0], "emergency contact", i), relationship=r[1],
                                 phone=r[2])
                for i, r in enumerate(rows("emergency_contacts", 3), 1)]
    providers = [CareProvider(name=need(r[0], "care provider", i), role=r[1], organisation=r[2],
                              phone=r[3]) for i, r in enumerate(rows("care_providers", 4), 1)]
    diagnoses = [PastDiagnosis(description=need(r[0], "past diagnosis", i), code=r[1], when=r[2])
                 for i, r in enumerate(rows("past_diagnoses", 3), 1)]
    treatment = [PastTreatment(description=need(r[0], "past treatment", i), provider=r[1],
                               when=r[2], outcome=r[3])
                 for i, r in enumerate(rows("past_treatment", 4), 1)]
    name = values["name"].strip()
    if not name:
        raise EntryError("the name is needed")
    return ClientInfo(
        name=name, date_of_birth=_date(values["date_of_birth"].strip(), "born"),
        pronouns=values["pronouns"].strip() or None,
        contact=Contact(**{k: values[k].strip() or None for k in CONTACT}),
        emergency_contacts=contacts, care_providers=providers, past_diagnoses=diagnoses,
        past_treatment=treatment,
        significant_events=parse_events(values["significant_events"], old.significant_events),
        notes=values["notes"].strip() or None)


class ClientEditScreen(Screen[None]):
    HELP_AREA = "client_edit"
    BINDINGS = keymap.bindings("client_edit")
    HELP_TEXT = ("Lists take one entry a line, fields separated by '|' (the hint above each "
                 "list). Ctrl+E adds a significant event. Your edits are kept as a draft "
                 "until Ctrl+S saves them.")
    DEFAULT_CSS = """
    ClientEditScreen #client-edit-body { height: 1fr; }
    ClientEditScreen .field { height: 1; padding: 0 1; }
    ClientEditScreen .field Label { width: 10; }
    ClientEditScreen .field Input { width: 1fr; }
    ClientEditScreen .hint { color: $text-muted; padding: 0 1; }
    ClientEditScreen .list { height: 4; }
    """

    def __init__(self, client_id: int) -> None:
        super().__init__()
        self.client_id = client_id
        self.info: ClientInfo | None = None
        self._last: dict[str, str] | None = None
        self._saving = False

    @property
    def key(self) -> str:
        return f"C{self.client_id}"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="client-edit-body"):
            first, title, hint = LISTS[0]
            yield Static(title, classes="section-title")
            yield Static(f"One a line: {hint} (the date may be left out); Ctrl+E adds one",
                         classes="hint")
            yield TextArea("", id=first, classes="list", compact=True,
                           placeholder="(none yet) e.g. 2019-03-01 | what happened")
            yield Static("Contact", classes="section-title")
            for field, label in SCALARS:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input("", id=field, compact=True,
                                placeholder="YYYY-MM-DD" if field == "date_of_birth" else "")
            for field, title, hint in LISTS[1:]:
                yield Static(title, classes="section-title")
                yield Static(f"One a line: {hint}", classes="hint")
                yield TextArea("", id=field, classes="list", compact=True,
                               placeholder=f"(none yet) {hint}")
            yield Static("Notes", classes="section-title")
            yield TextArea("", id="notes", classes="list", compact=True,
                           placeholder="(no notes)")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"Client {self.key}: current information"
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="client-edit-load")
    def load(self) -> None:
        info, draft = self.app.services.client_info(self.client_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show, info, draft)

    def _fields(self) -> list[str]:
        return [f for f, _ in SCALARS] + [f for f, _, _ in LISTS] + ["notes"]

    def values(self) -> dict[str, str]:
        out = {}
        for f in self._fields():
            widget = self.query_one(f"#{f}")
            out[f] = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]
        return out

    def set_values(self, values: dict[str, str]) -> None:
        for f in self._fields():
            widget = self.query_one(f"#{f}")
            if isinstance(widget, TextArea):
                widget.text = values.get(f, "")
            elif isinstance(widget, Input):
                widget.value = values.get(f, "")

    def show(self, info: ClientInfo, draft: dict[str, Any] | None) -> None:
        self.info = info
        stored = {"name": info.name, "date_of_birth": str(info.date_of_birth or ""),
                  "pronouns": info.pronouns or "", "notes": info.notes or "",
                  **{k: getattr(info.contact, k) or "" for k in CONTACT},
                  **{f: lines_of(info, f) for f, _, _ in LISTS}}
        if draft is not None and isinstance(draft.get("values"), dict):
            self.set_values({**stored, **{k: str(v) for k, v in draft["values"].items()}})
            self.notify("Recovered unsaved client information from "
                        f"{pm.when_text(str(draft.get('_updated_at', '')))}.", timeout=8)
        else:
            self.set_values(stored)
        self._last = self.values()
        self.query_one("#significant_events", TextArea).focus()

    @on(Input.Changed)
    @on(TextArea.Changed)
    def edited(self) -> None:
        if self.info is None or self._saving:
            return
        values = self.values()
        if values == self._last:
            return
        self._last = values
        self.keep({"values": values}, time.monotonic_ns())

    @work(thread=True, exit_on_error=False, group="client-edit-draft")
    def keep(self, payload: dict[str, Any], seq: int) -> None:
        self.app.services.keep_draft("client", self.key, payload, seq,  # type: ignore[attr-defined]
                                     self.client_id)

    def action_add_event(self) -> None:
        def add(text: str | None) -> None:
            if not text:
                return
            area = self.query_one("#significant_events", TextArea)
            area.text = (area.text.rstrip("\n") + "\n" + text).lstrip("\n")
            area.focus()

        self.app.push_screen(TextPrompt(
            "Add a significant event", placeholder="2019-03-01 | what happened",
            note="Start with a date and '|' when it is known; the event goes to the "
                 "trauma overview at the top of every plan."), add)

    def action_save(self) -> None:
        if self.info is None or self._saving:
            return
        try:
            info = build_info(self.values(), self.info)
        except EntryError as exc:
            self.notify(f"Not saved: {exc}.", severity="error", timeout=8)
            return
        except ValidationError as exc:
            first = exc.errors()[0]
            self.notify(f"Not saved: {'.'.join(str(x) for x in first['loc'])}: {first['msg']}",
                        severity="error", timeout=8)
            return
        self._saving = True
        self.save(info)

    @work(thread=True, exit_on_error=False, group="client-edit-save")
    def save(self, info: ClientInfo) -> None:
        try:
            changed = self.app.services.client_info_save(  # type: ignore[attr-defined]
                self.client_id, info)
        except Exception:
            self.app.call_from_thread(self._not_saved)
            raise
        self.app.call_from_thread(self._saved, changed)

    def _not_saved(self) -> None:
        self._saving = False
        self.edited()  # what was typed while it was being saved: in the draft now

    def _saved(self, changed: bool) -> None:
        self.notify(f"Client {self.key}: information saved." if changed
                    else "Nothing had changed.")
        self.app.pop_screen()

    def action_back(self) -> None:
        if self.info is not None and self._last is not None:
            try:
                unchanged = build_info(self._last, self.info) == self.info
            except (EntryError, ValidationError):
                unchanged = False
            if not unchanged:
                self.notify("Your unsaved edits are kept as a draft; they will be here next "
                            "time (Ctrl+S saves them).")
        self.app.pop_screen()
