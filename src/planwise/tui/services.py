"""What the interface asks of the domain, in one place, safe to call from workers.

Screens never touch SQLite or the engine directly: they call these methods
inside `@work(thread=True)` workers. SQLite connections are per thread
(sqlite3 refuses a connection used from another thread), so each worker
thread gets its own, created on first use.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planwise.kb import load_knowledge
from planwise.kb.loader import KnowledgeBase
from planwise.models.profile import Profile
from planwise.store import ids
from planwise.store.db import Conn, Store

CASELOAD_LIMIT = 200  # rows shown at once; the search narrows the rest


def today() -> dt.date:
    """Today, or PLANWISE_TODAY (YYYY-MM-DD) so that tests and snapshots are stable."""
    fixed = os.environ.get("PLANWISE_TODAY")
    return dt.date.fromisoformat(fixed) if fixed else dt.date.today()


@dataclass(frozen=True)
class CaseRow:
    client_id: int
    name: str
    risk: str | None
    review_date: str | None
    sessions_used: int
    session_limit: int | None

    @property
    def ref(self) -> str:
        return ids.fmt("client", self.client_id)

    @property
    def review_due(self) -> bool:
        return bool(self.review_date and self.review_date <= today().isoformat())

    @property
    def sessions_left(self) -> int | None:
        if self.session_limit is None:
            return None
        return self.session_limit - self.sessions_used


_CASELOAD_SQL = """
WITH latest_plan AS (
    SELECT client_id, max(id) AS plan_id FROM plans GROUP BY client_id
), current_version AS (
    SELECT pv.plan_id, max(pv.version) AS version
    FROM plan_versions pv JOIN latest_plan lp ON lp.plan_id = pv.plan_id
    GROUP BY pv.plan_id
)
SELECT c.id, c.name, pv.risk_level, pv.review_date,
       json_extract(i.data, '$.context.session_limit') AS session_limit,
       (SELECT count(*) FROM sessions s WHERE s.plan_id = lp.plan_id) AS sessions_used
FROM clients c
LEFT JOIN latest_plan lp ON lp.client_id = c.id
LEFT JOIN current_version cv ON cv.plan_id = lp.plan_id
LEFT JOIN plan_versions pv ON pv.plan_id = lp.plan_id AND pv.version = cv.version
LEFT JOIN plans p ON p.id = lp.plan_id
LEFT JOIN intakes i ON i.id = p.intake_id
{where}
ORDER BY c.name COLLATE NOCASE, c.id
LIMIT ?
"""


class Services:
    def __init__(self, store: Store, kb: KnowledgeBase, profile: Profile | None,
                 temp_dir: Path | None = None) -> None:
        self.store = store
        self.kb = kb
        self.profile = profile
        self._temp_dir = temp_dir
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._lock = threading.Lock()

    @classmethod
    def open(cls, db_path: Path | None, *, demo: bool = False, profile_path: str | None = None,
             knowledge_dirs: tuple[str, ...] = ()) -> Services:
        """Open (and migrate) the database before the interface starts, so a bad
        --db is reported on the terminal like any other input error."""
        from planwise.cli.common import resolve_profile

        kb = load_knowledge([Path(d) for d in knowledge_dirs])
        profile = resolve_profile(profile_path, kb)
        temp_dir = None
        if demo:
            temp_dir = Path(tempfile.mkdtemp(prefix="planwise-demo-"))
            db_path = temp_dir / "demo.db"
        store = Store(db_path)
        services = cls(store, kb, profile, temp_dir)
        if demo:
            from planwise.tui.demo import seed

            seed(services)
        return services

    def conn(self) -> Conn:
        """This thread's connection."""
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.store.connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except Exception:  # a connection of a finished thread
                    pass
            self._conns.clear()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    @property
    def db_path(self) -> Path:
        return self.store.path

    # -- caseload ---------------------------------------------------------------------
    def caseload(self, search: str = "", limit: int = CASELOAD_LIMIT) -> tuple[list[CaseRow], int]:
        """Clients matching the search (name or id), at most `limit`, and how many match."""
        c = self.conn()
        params: list[Any] = []
        where = ""
        text = search.strip()
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where = "WHERE c.name LIKE ? ESCAPE '\\'"
            params.append(like)
            if re.fullmatch(r"[Cc]\d+", text):
                where += " OR c.id = ?"
                params.append(int(text[1:]))
        rows = c.query(_CASELOAD_SQL.format(where=where), [*params, limit])
        if len(rows) < limit:
            total = len(rows)
        else:
            count_where = where.replace("c.name", "name").replace("c.id", "id")
            counted = c.one(f"SELECT count(*) AS n FROM clients {count_where}", params)
            total = int(counted["n"]) if counted else len(rows)
        return [CaseRow(r["id"], r["name"], r["risk_level"], r["review_date"],
                        r["sessions_used"] or 0, r["session_limit"]) for r in rows], total

    def add_client(self, name: str) -> int:
        from planwise.store.clients import add_client

        return add_client(self.conn(), name)

    # -- one client ---------------------------------------------------------------------
    def client_overview(self, client_id: int) -> dict[str, Any]:
        """Current information, intakes, plans (with their versions) and recent sessions."""
        from planwise.store.clients import get_client, list_intakes
        from planwise.store.plans import history

        c = self.conn()
        info = get_client(c, client_id)
        intakes = list_intakes(c, client_id)
        plans = []
        for p in c.query("SELECT id, created_at, requires_supervisor FROM plans "
                         "WHERE client_id = ? ORDER BY id", [client_id]):
            versions = history(c, p["id"])
            sessions = c.query("SELECT id, number, date, session_limit FROM sessions "
                               "WHERE plan_id = ? ORDER BY number", [p["id"]])
            plans.append({**p, "versions": versions, "sessions": sessions})
        return {"info": info, "intakes": intakes, "plans": plans}

    # -- proposal review (areas "proposal" and "why") -------------------------------------
    def evaluate(self, intake_data: dict[str, Any]) -> tuple[Any, Any, Any]:
        """(Proposal, Evaluation, ScoredIntake) for an intake held in memory."""
        from planwise.intake_io import intake_from_data
        from planwise.rules import evaluate

        scored = intake_from_data(intake_data, self.kb)
        evaluation = evaluate(scored, self.profile, self.kb)
        return evaluation.proposal, evaluation, scored

    def stored_intake_data(self, intake_id: int) -> dict[str, Any]:
        from planwise.store.clients import get_intake

        data: dict[str, Any] = get_intake(self.conn(), intake_id)["data"]
        return data

    def load_proposal_draft(self, client_id: int) -> dict[str, Any] | None:
        from planwise.store.drafts import load_draft

        return load_draft(self.conn(), "proposal", f"C{client_id}")

    def save_proposal_draft(self, client_id: int, payload: dict[str, Any]) -> None:
        from planwise.store.drafts import save_draft

        save_draft(self.conn(), "proposal", f"C{client_id}", payload, client_id=client_id)

    def delete_proposal_draft(self, client_id: int) -> None:
        from planwise.store.drafts import delete_draft

        delete_draft(self.conn(), "proposal", f"C{client_id}")

    def save_proposal_as_plan(self, client_id: int, intake_data: dict[str, Any],
                              intake_id: int | None, review: Any) -> tuple[int, list[str]]:
        """Store the intake (unless `intake_id` is the stored one), draft the plan from it,
        apply the review's decisions as one plan edit and delete the proposal draft.
        Returns (plan id, notes on additions that could not be placed)."""
        from planwise.intake_io import intake_from_data
        from planwise.rules import recommend
        from planwise.store.clients import add_intake_data
        from planwise.store.plans import (
            _resolve,
            current_version,
            doc_from_proposal,
            draft,
            load_doc_for,
            rows_from_doc,
            save_doc,
        )
        from planwise.tui.widgets.proposal_model import apply_to_doc

        c = self.conn()
        # Check the whole edit before anything is stored (nothing half-saved).
        scored = intake_from_data(intake_data, self.kb)
        trial = doc_from_proposal(recommend(scored, self.profile, self.kb), 0, client_id,
                                  scored.intake.date)
        current = rows_from_doc(trial)
        apply_to_doc(trial, review)
        _resolve(trial, current, "proposal review")
        if intake_id is None:
            intake_id = add_intake_data(c, client_id, intake_data, self.kb)
        plan_id = draft(c, client_id, ids.fmt("intake", intake_id), self.kb, self.profile)
        doc = load_doc_for(c, plan_id)
        doc.row_version = current_version(c, plan_id)["row_version"]
        notes = apply_to_doc(doc, review)
        save_doc(c, plan_id, doc, None, source="proposal review")
        self.delete_proposal_draft(client_id)
        return plan_id, notes
