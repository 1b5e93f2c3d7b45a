"""The sign dialog: who signs (each required role signed or needed, the client's optional),
the name (focused first), the role (starting on the missing one), an explicit "sign anyway"
when the SMART check fails, the check's failures, and what the signature does to the
version (when it becomes immutable)."""

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


def required(view: pm.PlanView) -> list[str]:
    """The roles whose signatures make the version signed and immutable."""
    return ["therapist", "supervisor"] if view.requires_supervisor else ["therapist"]


def default_role(view: pm.PlanView) -> str:
    """The role the dialog starts on: the first required one still missing (therapist,
    then the supervisor of a trainee's plan), else the client, else any left."""
    signed = {s["role"] for s in view.signatures}
    for role in (*required(view), "client", *ROLES):
        if role not in signed:
            return role
    return ROLES[0]


def signatures_note(view: pm.PlanView) -> str:
    """Who signs, in one sentence: each required role signed (by whom) or needed, and the
    client's signature, which is optional."""
    by_role = {s["role"]: s["name"] for s in view.signatures}
    parts = []
    for role in ("therapist", "supervisor", "client"):
        if role in by_role:
            parts.append(f"{role} signed ({by_role[role]})")
        elif role in required(view):
            who = f" ({view.supervisor})" if role == "supervisor" and view.supervisor else ""
            parts.append(f"{role}{who} needed")
        elif role == "client":
            parts.append("client optional")
    return "Signatures: " + "; ".join(parts) + "."


def consequence(view: pm.PlanView, role: str) -> str:
    """What signing as `role` does to the version."""
    before = {s["role"] for s in view.signatures}
    after = before | {role}
    v = view.version
    if set(required(view)) <= before:
        return (f"Version {v} is already signed and immutable; this adds the {role}'s "
                "signature to it.")
    if set(required(view)) <= after:
        return (f"After this signature version {v} is SIGNED and IMMUTABLE: any change "
                f"makes version {v + 1}, with a reason.")
    missing = [r for r in required(view) if r not in after]
    return (f"After this signature version {v} is partly signed: any change makes version "
            f"{v + 1}. It becomes immutable once the {' and the '.join(missing)} "
            f"sign{'s' if len(missing) == 1 else ''}.")


def keys_hint(forced: bool) -> str:
    """The keys, fields in their focus order (one line of the dialog)."""
    if forced:
        return "Tab: name > role (Up/Down) > sign anyway (Space) | Ctrl+S sign | Esc"
    return "Tab: name > role (Up/Down) | Enter or Ctrl+S sign | Esc cancel"


class SignDialog(ModalScreen[dict[str, Any] | None]):
    """Name first (the role starts on the missing one), then the role, then "sign anyway"
    when the SMART check fails: the focus order is the order on screen and in the hint."""

    HELP_AREA = "sign"
    BINDINGS = keymap.bindings("sign")
    AUTO_FOCUS = "#sign-name"  # focused as the dialog composes: type-ahead lands there
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
        return default_role(self.view)

    def compose(self) -> ComposeResult:
        v = self.view
        role = self._default_role()
        with Vertical(classes="plan-dialog", id="sign-dialog"):
            yield Label(f"Sign P{v.plan_id} version {v.version} "
                        f"({pm.STATE_SHOWN.get(v.state, v.state)})", classes="dialog-title")
            yield Static(Text(signatures_note(v)), classes="dialog-note", id="sign-needed")
            with Horizontal(classes="field"):
                yield Label("Name")
                yield Input(self._name_for(role), placeholder="Full name of the signer",
                            id="sign-name", compact=True)
            with Horizontal(classes="field"):
                yield Label("Role")
                with RadioSet(id="sign-roles", compact=True):
                    for r in ROLES:
                        label = r + (" (signed)" if r in self.signed else "")
                        yield PlainRadioButton(label, value=r == role, name=r,
                                               disabled=r in self.signed)
            if self.findings:
                yield PlainCheckbox("Sign anyway (recorded as forced)", id="sign-force",
                                    compact=True)
            # Read, never a stop for Tab: typing there went nowhere.
            with VerticalScroll(id="sign-lint-box", can_focus=False):
                yield Static(self._lint_text(), id="sign-lint")
            yield Static(consequence(v, role), id="sign-consequence")
            yield Static(keys_hint(bool(self.findings)), classes="dialog-keys")

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
        name = self.query_one("#sign-name", Input)
        if role is None or role in self.signed:
            self.refuse("#sign-roles", "Choose a role that has not signed yet.")
            return
        if not name.value.strip():
            self.refuse("#sign-name", "The signer's name is needed.")
            return
        force = False
        if self.findings:
            force = self.query_one("#sign-force", PlainCheckbox).value
            if not force:
                self.refuse("#sign-force", "The SMART check failed: tick 'Sign anyway' "
                            "(Space) or fix the objectives first.")
                return
        self.dismiss({"role": role, "name": name.value.strip(), "force": force})

    def refuse(self, field: str, message: str) -> None:
        """Say what is wrong and put the focus on the field it names."""
        self.query_one(field).focus()
        self.notify(message, severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
