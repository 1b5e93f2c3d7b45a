"""The interface's drafts (planwise.store.drafts), as the screens keep them from workers.

Every edit is saved from a worker as it is made, so saves can finish out of order, and a
discard can race a save of an edit made before it. One rule settles both, for every kind
of draft: each save carries a sequence number taken when its edit was made
(time.monotonic_ns()), and a save older than the newest save or discard of the same
draft is not written. `Services` (tui/services.py) has these methods.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from planwise.dates import today

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.store.db import Conn


class DraftServices:
    _lock: threading.Lock

    @property
    def kb(self) -> KnowledgeBase:
        raise NotImplementedError

    def conn(self) -> Conn:
        raise NotImplementedError

    def _draft_seqs(self) -> tuple[threading.Lock, dict[tuple[str, str], int]]:
        with self._lock:
            guard = self.__dict__.setdefault("_draft_guard", (threading.Lock(), {}))
        return guard  # type: ignore[no-any-return]

    # -- any draft, by kind and key ---------------------------------------------------------
    def keep_draft(self, kind: str, key: str, payload: dict[str, Any], seq: int,
                   client_id: int | None = None) -> bool:
        """Save a draft unless a newer save or a discard of it came first; True if saved."""
        from planwise.store.drafts import save_draft

        lock, seqs = self._draft_seqs()
        with lock:
            if seq <= seqs.get((kind, key), -1):
                return False
            save_draft(self.conn(), kind, key, payload, client_id)
            seqs[(kind, key)] = seq
            return True

    def drop_draft(self, kind: str, key: str) -> None:
        """Delete a draft; saves of edits made before this call are not written again."""
        from planwise.store.drafts import delete_draft

        lock, seqs = self._draft_seqs()
        with lock:
            seqs[(kind, key)] = time.monotonic_ns()
            delete_draft(self.conn(), kind, key)

    def kept_draft(self, kind: str, key: str) -> dict[str, Any] | None:
        """A draft kept with keep_draft (e.g. an open dialog's), or None."""
        from planwise.store.drafts import load_draft

        return load_draft(self.conn(), kind, key)

    # -- the proposal review's ---------------------------------------------------------------
    def load_proposal_draft(self, client_id: int) -> dict[str, Any] | None:
        return self.kept_draft("proposal", f"C{client_id}")

    def save_proposal_draft(self, client_id: int, payload: dict[str, Any]) -> None:
        # Saved in order by the review itself (screens/proposal_saving.py): no sequence.
        from planwise.store.drafts import save_draft

        save_draft(self.conn(), "proposal", f"C{client_id}", payload, client_id=client_id)

    def delete_proposal_draft(self, client_id: int) -> None:
        from planwise.store.drafts import delete_draft

        delete_draft(self.conn(), "proposal", f"C{client_id}")

    # -- the new intake's ---------------------------------------------------------------------
    def save_intake_draft(self, client_id: int, payload: dict[str, Any], seq: int) -> bool:
        """Save the client's intake in progress (see keep_draft); True if saved."""
        return self.keep_draft("intake", f"C{client_id}", payload, seq, client_id)

    def load_intake_draft(self, client_id: int) -> dict[str, Any] | None:
        """The client's intake draft; None when there is none, or when its answers have
        since been stored as an intake (the plan was saved: the draft is done with)."""
        from planwise.errors import InputError
        from planwise.intake_io import intake_from_data

        draft = self.kept_draft("intake", f"C{client_id}")
        if draft is None:
            return None
        try:
            data = {**draft.get("intake", {}), "date": today().isoformat()}
            mine = intake_from_data(data, self.kb).intake.model_dump(mode="json", by_alias=True)
        except InputError:
            return draft  # unfinished answers: certainly not stored yet
        mine.pop("date", None)
        for row in self.conn().query("SELECT data FROM intakes WHERE client_id = ? AND "
                                     "created_at >= ?", [client_id, draft.get("_updated_at", "")]):
            stored = json.loads(row["data"])
            stored.pop("date", None)
            if stored == mine:
                self.delete_intake_draft(client_id)
                return None
        return draft

    def delete_intake_draft(self, client_id: int) -> None:
        """Discard the intake draft; saves of edits made before this are not written again."""
        self.drop_draft("intake", f"C{client_id}")
