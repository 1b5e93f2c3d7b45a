"""The work in progress of every open screen, saved as drafts when the interface fails.

Each editing screen saves its draft from a worker as edits are made; when an
error stops the interface, the newest edits may not have reached the database
(a worker not yet run, a keystroke handled just before the error). Here every
screen on the stack gives its current work as a draft of the same kind and key
as its own autosave, so opening the same thing again restores it as usual.

A screen says what it has by an `unsaved_draft()` method returning an
`OpenDraft` (or None). The screens that predate it are read here, by their
class name and the attributes of their own autosave (a test of each keeps these
readers honest). Nothing here may raise: a screen that cannot give its work is
reported as not saved.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OpenDraft:
    kind: str                 # planwise.store.drafts.KINDS
    key: str                  # C<client> or P<plan>
    payload: dict[str, Any]
    client_id: int | None
    what: str                 # for the crash screen: "the new intake of C3" (ids only)


@dataclass(frozen=True)
class DraftOutcome:
    what: str
    saved: bool
    why: str = ""             # when not saved: the error's class, never its text


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(payload, default=str))
    return result


def _stored(screen: Any, kind: str) -> bool:
    from planwise.store.drafts import load_draft

    return load_draft(screen.app.services.conn(), kind, screen.key) is not None


def _proposal(screen: Any) -> OpenDraft | None:
    if not screen.loaded or screen.saving or screen._seq == 0:
        return None  # nothing decided yet, or the plan is being saved from it
    return OpenDraft("proposal", f"C{screen.client_id}", _jsonable(screen.draft_payload()),
                     screen.client_id, f"the proposal review of C{screen.client_id}")


def _session(screen: Any) -> OpenDraft | None:
    if screen.loaded is None or screen._saving:
        return None
    payload = screen.payload()
    if payload == screen._last and not _stored(screen, "session"):
        return None  # as it opened: nothing typed
    return OpenDraft("session", screen.key, _jsonable(payload), screen.loaded.get("client_id"),
                     f"the session note on {screen.key}")


def _client_info(screen: Any) -> OpenDraft | None:
    if screen.info is None or screen._saving:
        return None
    values = screen.values()
    if values == screen._last and not _stored(screen, "client"):
        return None
    return OpenDraft("client", screen.key, {"values": values}, screen.client_id,
                     f"the information of {screen.key}")


def _plan(screen: Any) -> OpenDraft | None:
    view, doc = screen.view, screen.doc
    if view is None or doc is None:
        return None
    if not (screen.dirty or screen._saving or screen._pending):
        return None  # every edit is saved (revising with no edit yet: nothing to keep)
    payload = {"doc": doc.model_dump(mode="json", by_alias=True), "base_version": view.version}
    return OpenDraft("plan", screen.key, payload, view.client_id, f"the edits of {screen.key}")


READERS: dict[str, Callable[[Any], OpenDraft | None]] = {
    "ProposalScreen": _proposal,
    "SessionScreen": _session,
    "ClientEditScreen": _client_info,
    "PlanScreen": _plan,
}


def open_drafts(screens: list[Any]) -> tuple[list[OpenDraft], list[DraftOutcome]]:
    """The drafts of `screens`, and those that could not be read."""
    drafts: list[OpenDraft] = []
    failed: list[DraftOutcome] = []
    for screen in screens:
        name = type(screen).__name__
        reader = getattr(screen, "unsaved_draft", None)
        if reader is None:
            found = READERS.get(name)
            reader = (lambda found=found, screen=screen: found(screen)) if found else None
        if reader is None:
            continue
        try:
            draft = reader()
        except Exception as exc:
            failed.append(DraftOutcome(f"the work on the {name}", False, type(exc).__name__))
            continue
        if draft is not None:
            drafts.append(draft)
    return drafts, failed


def save_drafts(services: Any, drafts: list[OpenDraft]) -> list[DraftOutcome]:
    """Write each draft, newer than any its screen's workers may still write."""
    out = []
    for d in drafts:
        try:
            seq = time.monotonic_ns()
            if d.kind == "intake" and d.client_id is not None:
                services.save_intake_draft(d.client_id, d.payload, seq)
            elif d.kind == "proposal" and d.client_id is not None and "/" not in d.key:
                # (C1/dialog, a dialog's text over the review, is kept beside it below)
                services.save_proposal_draft(d.client_id, d.payload)
            else:
                services.keep_draft(d.kind, d.key, d.payload, seq, d.client_id)
            out.append(DraftOutcome(d.what, True))
        except Exception as exc:
            out.append(DraftOutcome(d.what, False, type(exc).__name__))
    return out
