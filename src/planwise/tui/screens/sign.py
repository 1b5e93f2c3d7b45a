"""The sign dialog: role and name; the SMART check's failures, an explicit "sign anyway";
what the signature does to the version (when it becomes immutable)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioSet, Static

from planwise.store.lint import Finding
from planwise.tui import keymap
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.plan_smart import FAIL_STYLE
from planwise.tui.widgets.plan_toggles import PlainCheckbox, PlainRadioButton

ROLES = ("therapist", "client", "supervisor")


def consequence(view: pm.PlanView, role: str) -> str:
    """What signing as `role` does to the version."""
    roles = {s["role"] for s in view.signatures} | {role}
    v = view.version
    if "therapist" in roles and (not view.requires_supervisor or "supervisor" in roles):
        return (f"After this signature version {v} is SIGNED and IMMUTABLE: any change "
                f"makes version {v + 1}, with a reason.")
    missing = [r for r in ("therapist", "supervisor")
               if r not in roles and (r == "therapist" or view.requires_supervisor)]
    return (f"Version {v} becomes immutable once the {' and the '.join(missing)} "
            f"sign{'s' if len(missing) == 1 else ''}. Until then it is partly signed and any "
            f"change makes version {v + 1}.")


class SignDialog(ModalScreen[dict[str, Any] | None]):
    HELP_AREA = "sign"
    BINDINGS = keymap.bindings("sign")
    DEFAULT_CSS = """
    SignDialog .plan-dialog { height: auto; border: round $accent; background: $surface;
        padding: 0 1; }
    SignDialog #sign-dialog { width: 76; max-height: 23; }
    SignDialog #sign-roles { height: auto; width: auto; }
    SignDialog #sign-lint-box { height: auto; max-height: 6; }
    SignDialog .field { height: auto; }
    SignDialog .field Label { width: 8; }
    SignDialog #sign-name { width: 1fr; }
    """

    def __init__(self, view: pm.PlanView, findings: list[Finding]) -> None:
        super().__init__()
        self.view = view
        self.findings = findings
        self.signed = {s["role"] for s in view.signatures}

    def _default_role(self) -> str:
        return next((r for r in ROLES if r not in self.signed), ROLES[0])

    def compose(self) -> ComposeResult:
        v = self.view
        role = self._default_role()
        with Vertical(classes="plan-dialog", id="sign-dialog"):
            yield Label(f"Sign P{v.plan_id} version {v.version} "
                        f"({pm.STATE_SHOWN.get(v.state, v.state)})", classes="dialog-title")
            done = ", ".join(f"{s['role']} {s['name']}" for s in v.signatures)
            needs = ("Requires the therapist's and the supervisor's signatures"
                     + (f" (supervisor: {v.supervisor})" if v.supervisor else "")
                     if v.requires_supervisor else "Requires the therapist's signature")
            yield Static(Text(f"{needs}. Signed so far: {done or 'nobody'}."),
                         classes="dialog-note")
            with RadioSet(id="sign-roles", compact=True):
                for r in ROLES:
                    label = r + (" (signed)" if r in self.signed else "")
                    yield PlainRadioButton(label, value=r == role, name=r,
                                      disabled=r in self.signed)
            with Horizontal(classes="field"):
                yield Label("Name")
                yield Input(self._name_for(role), placeholder="Full name of the signer",
                            id="sign-name", compact=True)
            with VerticalScroll(id="sign-lint-box"):
                yield Static(self._lint_text(), id="sign-lint")
            if self.findings:
                yield PlainCheckbox("Sign anyway (recorded as forced)", id="sign-force",
                               compact=True)
            yield Static(consequence(v, role), id="sign-consequence")
            yield Static("Up/Down, Space: role | Tab next | Ctrl+S sign | Esc cancel",
                         classes="dialog-keys")

    def _name_for(self, role: str) -> str:
        if role == "therapist" and self.view.therapist:
            return self.view.therapist
        if role == "supervisor" and self.view.supervisor:
            return self.view.supervisor
        if role == "client":
            return self.view.info.name
        return ""

    def _lint_text(self) -> Text:
        if not self.findings:
            return Text("SMART check: every objective passes.")
        out = Text(f"SMART check failed: {len(self.findings)} problem(s). Fix them (Esc, "
                   "then e on the objective) or sign anyway.", style="bold")
        for f in self.findings:
            out.append("\n")
            out.append(f"!{f.letter}", style=FAIL_STYLE)
            out.append(f" {f.objective}: {f.message}")
        return out

    def on_mount(self) -> None:
        self.query_one("#sign-name", Input).focus()

    def role(self) -> str | None:
        pressed = self.query_one("#sign-roles", RadioSet).pressed_button
        return pressed.name if pressed is not None else None

    @on(RadioSet.Changed, "#sign-roles")
    def role_changed(self) -> None:
        role = self.role()
        if role is None:
            return
        name = self.query_one("#sign-name", Input)
        if not name.value.strip() or name.value in (self._name_for(r) for r in ROLES):
            name.value = self._name_for(role)
        self.query_one("#sign-consequence", Static).update(consequence(self.view, role))

    @on(Input.Submitted, "#sign-name")
    def submitted(self) -> None:
        self.action_sign()

    def action_sign(self) -> None:
        role = self.role()
        name = self.query_one("#sign-name", Input).value.strip()
        if role is None or role in self.signed:
            self.notify("Choose a role that has not signed yet.", severity="warning")
            return
        if not name:
            self.notify("The signer's name is needed.", severity="warning")
            return
        force = False
        if self.findings:
            force = self.query_one("#sign-force", PlainCheckbox).value
            if not force:
                self.notify("The SMART check failed: tick 'Sign anyway' (Tab to it, Space) "
                            "or fix the objectives first.", severity="warning")
                return
        self.dismiss({"role": role, "name": name, "force": force})

    def action_cancel(self) -> None:
        self.dismiss(None)
