"""Text typed into an open dialog is part of the draft (issue 11).

A reason for a rejection, an edited referral, an added intervention: a dialog over the
plan editor or the proposal review keeps what is typed as a draft of its own, beside the
screen's, under the screen's key with "/dialog" (`plan` / `P3/dialog`, `proposal` /
`C1/dialog`). The draft holds how the screen opens the same dialog again (`action`, ids
and item keys only) and the values typed. It is dropped when the dialog closes; after a
crash or a hangup the screen, once opened again, opens the dialog as it was.

The objective dialog keeps its own draft (`P<plan>/objective`, widgets/plan_dialogs.py):
it predates this and restores more than text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

SUFFIX = "/dialog"


@dataclass(frozen=True)
class DialogKeep:
    kind: str                       # the draft kind of the screen beneath: plan, proposal
    parent_key: str                 # its draft key: P3, C1
    client_id: int | None
    what: str                       # for the crash screen; ids only
    action: dict[str, Any] = field(default_factory=dict)  # how the screen reopens it

    @property
    def key(self) -> str:
        return self.parent_key + SUFFIX


def base_key(key: str) -> str:
    """The key of the screen a draft belongs to: P3 for P3, P3/dialog and P3/objective."""
    return key.split("/", 1)[0]


class KeepsTyped:
    """For a modal dialog with `typed()` (the values as typed) and `keep_as`: call
    `keep_typed()` on every change and `drop_typed()` when the dialog closes."""

    keep_as: DialogKeep | None
    app: Any
    _kept_once: bool = False   # a draft was written: every later change is kept too

    def typed(self) -> dict[str, str]:
        raise NotImplementedError

    def changed_since_open(self) -> bool:
        """Anything typed (a dialog opened and left as it was keeps no draft)."""
        raise NotImplementedError

    def typed_changed(self) -> None:
        """On every change of a field: keep it, once anything differs from the opening
        values (and from then on, also when typed back to them)."""
        if self._kept_once or self.changed_since_open():
            self._kept_once = True
            self.keep_typed()

    def _payload(self) -> dict[str, Any]:
        assert self.keep_as is not None
        return {"action": self.keep_as.action, "values": self.typed()}

    def keep_typed(self) -> None:
        keep = self.keep_as
        if keep is None:
            return
        # On the app, not the dialog: the save must outlive a dialog closed meanwhile;
        # the sequence number keeps an older save from landing after a newer one or a drop.
        save = partial(self.app.services.keep_draft, keep.kind, keep.key, self._payload(),
                       time.monotonic_ns(), keep.client_id)
        self.app.run_worker(save, thread=True, group="dialog-draft", exit_on_error=False)

    _dismissed_once: bool = False

    def close_with(self, result: Any) -> None:
        """Forget the draft and close, once: Esc, Esc (or Enter, Esc) in one burst closed
        the dialog twice (InvalidStateError; found by the monkey test)."""
        if self._dismissed_once:
            return
        self._dismissed_once = True
        self.drop_typed()
        self.dismiss(result)  # type: ignore[attr-defined]

    def drop_typed(self) -> None:
        keep = self.keep_as
        if keep is None:
            return
        drop = partial(self.app.services.drop_draft, keep.kind, keep.key)
        self.app.run_worker(drop, thread=True, group="dialog-draft", exit_on_error=False)

    def unsaved_draft(self) -> Any:
        """What is typed, for the crash handler to save (planwise.tui.crash_drafts)."""
        from planwise.tui.crash_drafts import OpenDraft

        keep = self.keep_as
        if keep is None:
            return None
        try:
            if not (self._kept_once or self.changed_since_open()):
                return None
            payload = self._payload()
        except Exception:   # not composed yet: nothing typed
            return None
        return OpenDraft(keep.kind, keep.key, payload, keep.client_id, keep.what)


def kept_dialog(services: Any, kind: str, parent_key: str) -> dict[str, Any] | None:
    """The draft of a dialog left open over a screen ({action, values, _updated_at}), or
    None. Runs in a worker."""
    draft: dict[str, Any] | None = services.kept_draft(kind, parent_key + SUFFIX)
    if draft is None or not isinstance(draft.get("action"), dict) \
            or not isinstance(draft.get("values"), dict):
        return None
    return draft


def drop_kept(app: Any, kind: str, parent_key: str) -> None:
    """Forget a dialog's draft that cannot be opened again (its item is gone)."""
    drop = partial(app.services.drop_draft, kind, parent_key + SUFFIX)
    app.run_worker(drop, thread=True, group="dialog-draft", exit_on_error=False)
