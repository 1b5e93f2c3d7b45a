"""What the interface asks of the domain, in one place, safe to call from workers.

Screens never touch SQLite or the engine directly: they call these methods
inside `@work(thread=True)` workers. SQLite connections are per thread
(sqlite3 refuses a connection used from another thread), so each worker
thread gets its own, created on first use.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise.dates import today  # also imported from here by the screens
from planwise.store import ids
from planwise.store.db import Conn, Store
from planwise.tui.course_services import CourseServices
from planwise.tui.plan_services import PlanServices

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.profile import Profile

CASELOAD_LIMIT = 100  # rows listed at once (five screens at 80x24); the search narrows the rest


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


# The page of clients first (the name index gives them in order, LIMIT stops the scan),
# then each listed client's latest plan, its current version and sessions by index: the
# plans of the whole caseload are never grouped (with 10,000 clients that took ~30 ms a
# keystroke; now under 1 ms).
_CASELOAD_SQL = """
SELECT c.id, c.name, pv.risk_level, pv.review_date,
       json_extract(i.data, '$.context.session_limit') AS session_limit,
       (SELECT count(*) FROM sessions s WHERE s.plan_id = p.id) AS sessions_used
FROM (SELECT c.id, c.name FROM clients c {where}
      ORDER BY c.name COLLATE NOCASE, c.id LIMIT ?) c
LEFT JOIN plans p ON p.id = (SELECT max(id) FROM plans WHERE client_id = c.id)
LEFT JOIN plan_versions pv ON pv.plan_id = p.id
     AND pv.version = (SELECT max(version) FROM plan_versions WHERE plan_id = p.id)
LEFT JOIN intakes i ON i.id = p.intake_id
ORDER BY c.name COLLATE NOCASE, c.id
"""


class Services(PlanServices, CourseServices):
    """`kb` and `profile` may be given, or are loaded on first use (`open` loads
    them, and every module the workers use, before the interface starts)."""

    _UNSET: Any = object()

    def __init__(self, store: Store | None, kb: KnowledgeBase | None = None,
                 profile: Profile | None | Any = _UNSET, temp_dir: Path | None = None, *,
                 knowledge_dirs: tuple[str, ...] = (), profile_path: str | None = None
                 ) -> None:
        self._store = store
        # An encrypted database waiting for its passphrase, or a new one for the choice of
        # one (first_run): the interface asks first (screens/passphrase.py), then unlock().
        self.locked: Path | None = None
        self.first_run = False
        self.chose_plain = False
        self._kb = kb
        self._profile = profile
        self._knowledge_dirs = knowledge_dirs
        self._profile_path = profile_path
        self._lazy_lock = threading.Lock()
        self._temp_dir = temp_dir
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._lock = threading.Lock()

    @property
    def kb(self) -> KnowledgeBase:
        with self._lazy_lock:
            if self._kb is None:
                from planwise.kb import load_knowledge

                self._kb = load_knowledge([Path(d) for d in self._knowledge_dirs])
            return self._kb

    @property
    def profile(self) -> Profile | None:
        kb = self.kb
        with self._lazy_lock:
            if self._profile is Services._UNSET:
                from planwise.intake_io import resolve_profile

                self._profile = resolve_profile(self._profile_path, kb)
            return self._profile  # type: ignore[no-any-return]

    # What the workers use, imported before any of them runs (see open()); one step each,
    # so that the interface can do it between keys after its first page (app.py).
    WARM_MODULES = (
        "planwise.kb.loader", "planwise.intake_io", "planwise.explain",
        "planwise.clinical.feedback", "planwise.clinical.progress",
        "planwise.clinical.review_facts", "planwise.rules", "planwise.clinical.timeline",
        "planwise.store.clients", "planwise.store.course", "planwise.store.dashboard",
        "planwise.store.diff", "planwise.store.drafts", "planwise.store.export",
        "planwise.store.feedback", "planwise.store.lint", "planwise.store.measures",
        "planwise.store.plan_rows", "planwise.store.plans", "planwise.store.review_apply",
        "planwise.store.sessions",
        "planwise.remote.requests",  # the dashboard's remote-risk flag, inside a function
    )
    _warming: Iterator[None] | None = None
    warmed = False

    def warm_step(self) -> bool:
        """One step of warm(): True while there is more to do. Call from one thread only
        (the interface's)."""
        if self.warmed:
            return False
        if self._warming is None:
            self._warming = self._warm_steps()
        if next(self._warming, StopIteration) is StopIteration:
            self.warmed = True
        return not self.warmed

    def _warm_steps(self) -> Iterator[None]:
        for name in self.WARM_MODULES:
            importlib.import_module(name)
            yield
        _ = self.kb
        yield
        _ = self.profile
        yield

    def warm(self) -> None:
        """Load the knowledge, the profile and every module the workers will use, now,
        so that no worker imports a module while another thread imports one."""
        while self.warm_step():
            pass

    @classmethod
    def open(cls, db_path: Path | None, *, demo: bool = False, profile_path: str | None = None,
             knowledge_dirs: tuple[str, ...] = (), first_run: bool = False) -> Services:
        """Open (and migrate) the database before the interface starts, so a bad
        --db is reported on the terminal like any other input error. A profile or
        knowledge folder named on the command line is checked now too; the
        configured defaults load in the background. An encrypted database without a
        passphrase file, and a new one on a first run, wait for the interface to ask
        (`locked`)."""
        temp_dir = None
        if demo:
            from planwise.tui.demo import make_folder

            temp_dir = make_folder()
            db_path = temp_dir / "demo.db"
        from planwise.paths import default_profile_path
        from planwise.store.db import default_db_path
        from planwise.store.keys import PassphraseNeeded

        path = Path(db_path) if db_path is not None else default_db_path()
        locked: Path | None = None
        try:
            store: Store | None = None
            if first_run and not demo:
                locked = path
            else:
                try:
                    store = Store(path, ask=False)
                except PassphraseNeeded:
                    locked = path
            # The demo's folder goes with the services: close() removes it (it was never
            # passed on, so quitting the demo left its database behind).
            services = cls(store, knowledge_dirs=knowledge_dirs, profile_path=profile_path,
                           temp_dir=temp_dir)
            services.locked = locked
            services.first_run = locked is not None and first_run
            # Everything the workers will import must be imported before any worker that
            # uses it runs: a worker importing a package while the interface thread
            # imported one raced inside Python's import system (KeyError on a
            # half-imported package) and killed the app. The interface does it after its
            # first page, between keys (app.py: about 0.15 s of the cold start). A profile
            # or knowledge folder someone chose is read now, so a bad one is said on the
            # terminal before the interface starts.
            if profile_path or knowledge_dirs or default_profile_path().is_file():
                _ = services.profile
            if demo:
                from planwise.tui.demo import seed

                seed(services)
        except BaseException:
            if temp_dir is not None:
                from planwise.tui.demo import remove

                remove(temp_dir)
            raise
        return services

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the database is still locked")  # no screen reads before unlock
        return self._store

    @store.setter
    def store(self, store: Store) -> None:
        self._store = store

    def unlock(self, passphrase: str) -> None:
        """Open the locked database with `passphrase` (WrongPassphrase: nothing opened or
        changed). On a first run, create it: encrypted with it, or plain when empty."""
        from planwise.store import crypto, keys

        path = self.locked
        assert path is not None
        if self.first_run:
            if passphrase:
                keys.remember(path, crypto.new_key(passphrase))
            self.chose_plain = not passphrase
        else:
            keys.unlock(path, passphrase)
        self._store = Store(path, ask=False)
        self.locked = None

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
            from planwise.tui.demo import remove

            remove(self._temp_dir)

    @property
    def db_path(self) -> Path:
        return self.locked or self.store.path

    # -- caseload ---------------------------------------------------------------------
    def caseload(self, search: str = "", limit: int = CASELOAD_LIMIT,
                 only: list[int] | None = None) -> tuple[list[CaseRow], int]:
        """Clients matching the search (name or id), at most `limit`, and how many match;
        `only`: among these client ids (the clients needing attention)."""
        c = self.conn()
        params: list[Any] = []
        where = ""
        text = search.strip()
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where = "WHERE (c.name LIKE ? ESCAPE '\\'"
            params.append(like)
            if re.fullmatch(r"[Cc]\d+", text):
                where += " OR c.id = ?"
                params.append(int(text[1:]))
            where += ")"
        if only is not None:
            import json

            where += (" AND " if where else "WHERE ") + \
                "c.id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(only))
        rows = c.query(_CASELOAD_SQL.format(where=where), [*params, limit])
        if len(rows) < limit:
            total = len(rows)
        else:
            count_where = where.replace("c.name", "name").replace("c.id", "id")
            counted = c.one(f"SELECT count(*) AS n FROM clients {count_where}", params)
            total = int(counted["n"]) if counted else len(rows)
        return [CaseRow(r["id"], r["name"], r["risk_level"], r["review_date"],
                        r["sessions_used"] or 0, r["session_limit"]) for r in rows], total

    def attention(self) -> dict[int, dict[str, Any]]:
        """Client id -> {flags (most urgent first), reasons, plan_id} for every client
        needing attention today (planwise.store.dashboard.attention)."""
        from planwise.store.dashboard import attention

        return {r["client_id"]: r for r in attention(self.conn(), today(), kb=self.kb)}

    def add_client(self, name: str) -> int:
        from planwise.store.clients import add_client

        return add_client(self.conn(), name)

    # -- one client ---------------------------------------------------------------------
    def client_overview(self, client_id: int) -> dict[str, Any]:
        """Current information, intakes, plans (with their versions) and recent sessions,
        and the client's drafts (work in progress: kind, key, updated_at)."""
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
        drafts = c.query("SELECT kind, key, updated_at FROM drafts WHERE client_id = ? "
                         "ORDER BY updated_at DESC", [client_id])
        return {"info": info, "intakes": intakes, "plans": plans, "drafts": drafts}

    # -- proposal review (areas "proposal" and "why") -------------------------------------
    def evaluate(self, intake_data: dict[str, Any]) -> tuple[Any, Any, Any]:
        """(Proposal, Evaluation, ScoredIntake) for an intake held in memory."""
        from planwise.intake_io import intake_from_data
        from planwise.rules import evaluate

        scored = intake_from_data(intake_data, self.kb)
        evaluation = evaluate(scored, self.profile, self.kb)
        return evaluation.proposal, evaluation, scored

    def walkthrough(self, intake_id: int, width: int = 10_000) -> str:
        """`planwise explain` of a stored intake: how the engine reached its proposal; by
        default one line a paragraph (the screen wraps it to its width)."""
        return self.walkthrough_of(self.stored_intake_data(intake_id), width)

    def walkthrough_of(self, intake_data: dict[str, Any], width: int = 10_000) -> str:
        """The same for answers held in memory (the proposal review's)."""
        from planwise.explain import explain

        _proposal, evaluation, scored = self.evaluate(intake_data)
        return explain(evaluation, scored, self.kb, width=width)

    def stored_intake_data(self, intake_id: int) -> dict[str, Any]:
        from planwise.store.clients import get_intake

        data: dict[str, Any] = get_intake(self.conn(), intake_id)["data"]
        return data

    def save_proposal_as_plan(self, client_id: int, intake_data: dict[str, Any],
                              intake_id: int | None, review: Any) -> tuple[int, list[str]]:
        """Store the intake (unless `intake_id` is the stored one), draft the plan from it,
        apply the review's decisions as one plan edit and delete the proposal draft.
        Returns (plan id, notes on additions that could not be placed)."""
        from planwise.intake_io import intake_from_data
        from planwise.rules import recommend
        from planwise.store.clients import add_intake_data
        from planwise.store.plan_rows import resolve_rows, rows_from_doc
        from planwise.store.plans import (
            current_version,
            doc_from_proposal,
            draft,
            load_doc_for,
            save_doc,
        )
        from planwise.tui.widgets.proposal_apply import apply_to_doc

        c = self.conn()
        # Check the whole edit before anything is stored (nothing half-saved).
        scored = intake_from_data(intake_data, self.kb)
        trial = doc_from_proposal(recommend(scored, self.profile, self.kb), 0, client_id,
                                  scored.intake.date)
        current = rows_from_doc(trial)
        apply_to_doc(trial, review)
        resolve_rows(trial, current, "proposal review")
        # One transaction: the intake, the plan drafted from it and the decisions land
        # together or not at all (the store's writes join it: Conn.within).
        with c.within():
            if intake_id is None:
                intake_id = add_intake_data(c, client_id, intake_data, self.kb)
            plan_id = draft(c, client_id, ids.fmt("intake", intake_id), self.kb, self.profile)
            doc = load_doc_for(c, plan_id)
            doc.row_version = current_version(c, plan_id)["row_version"]
            notes = apply_to_doc(doc, review)
            save_doc(c, plan_id, doc, None, source="proposal review")
        self.delete_proposal_draft(client_id)  # a draft, not a record: after the commit
        return plan_id, notes

    # -- plan editor, sign, history, session note, export, client info -------------------
    # (areas "plan", "objective", "sign", "history", "session", "export", "client_edit";
    # their drafts: tui/draft_services.py)
    # plan editor, sign, history and export: tui/plan_services.py; session notes, scores
    # and reviews: tui/course_services.py.
    def client_info(self, client_id: int) -> tuple[Any, dict[str, Any] | None]:
        from planwise.store.clients import get_client
        from planwise.store.drafts import load_draft

        c = self.conn()
        return get_client(c, client_id), load_draft(c, "client", f"C{client_id}")

    def client_info_save(self, client_id: int, info: Any) -> bool:
        from planwise.store.clients import save_client_info

        changed = save_client_info(self.conn(), client_id, info)
        self.drop_draft("client", f"C{client_id}")
        return changed

    # -- intake (the new intake flow: screens/intake.py) --------------------------------------
    def intake_suggestions(self, concerns: list[str]) -> list[tuple[str, str]]:
        """The assessments a screening calls for: the engine run on the screening alone."""
        from planwise.intake_io import intake_from_data
        from planwise.rules import recommend

        data = {"schema": "planwise.intake/1", "date": today().isoformat(),
                "screening": {"concerns": list(concerns)}}
        proposal = recommend(intake_from_data(data, self.kb), self.profile, self.kb)
        return [(a.instrument, a.reason) for a in proposal.assessments]

    def check_intake(self, data: dict[str, Any]) -> Any:
        """The intake checked and scored (ScoredIntake); InputError names the field."""
        from planwise.intake_io import intake_from_data

        return intake_from_data(data, self.kb)
