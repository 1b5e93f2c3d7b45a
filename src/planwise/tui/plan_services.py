"""The plan editor's, signing's, history's and export's calls of `Services`
(tui/services.py), safe to call from workers like the rest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise.tui.draft_services import DraftServices

if TYPE_CHECKING:
    from planwise.models.profile import Profile


class PlanServices(DraftServices):
    @property
    def profile(self) -> Profile | None:
        raise NotImplementedError

    def plan_view(self, plan_id: int) -> Any:
        """planwise.tui.widgets.plan_model.PlanView of the plan's current version."""
        from planwise.store import lint, sessions
        from planwise.store.clients import get_client
        from planwise.store.drafts import load_draft
        from planwise.store.plans import current_version, get_plan, load_doc_for, version_rows
        from planwise.tui.widgets.plan_model import PlanView

        c = self.conn()
        plan = get_plan(c, plan_id)
        cur = current_version(c, plan_id)
        doc = load_doc_for(c, plan_id, cur["version"])
        doc.row_version = cur["row_version"]
        rows = version_rows(c, cur["id"])
        used = c.one("SELECT count(*) AS n FROM sessions WHERE plan_id = ?", [plan_id])
        return PlanView(
            plan_id=plan_id, client_id=plan["client_id"], doc=doc, version=cur["version"],
            state=cur["state"], row_version=cur["row_version"], reason=cur["reason"],
            requires_supervisor=bool(plan["requires_supervisor"]), supervisor=plan["supervisor"],
            signatures=c.query("SELECT role, name, signed_at, forced FROM signatures "
                               "WHERE version_id = ? ORDER BY id", [cur["id"]]),
            info=get_client(c, plan["client_id"]),
            sessions_used=int(used["n"]) if used else 0,
            session_limit=sessions.session_limit(c, plan),
            min_weeks=lint._min_weeks(c, plan, rows), instruments=lint.instrument_names(),
            therapist=self.profile.therapist.name if self.profile else None,
            intake_id=plan["intake_id"], draft=load_draft(c, "plan", f"P{plan_id}"),
            lint=lint.lint_version(c, plan, cur))

    def plan_save(self, plan_id: int, doc: Any, reason: str | None = None) -> dict[str, Any]:
        """Save an edited plan document: a draft version in place, a signed one (with a
        reason) as the next version; the plan's unsaved-edits draft is then dropped."""
        from planwise.store.plans import current_version, save_doc

        c = self.conn()
        version, changed = save_doc(c, plan_id, doc, reason, source="plan editor")
        cur = current_version(c, plan_id)
        self.drop_draft("plan", f"P{plan_id}")  # whatever was kept is stored now
        return {"version": version, "changed": changed, "row_version": cur["row_version"],
                "state": cur["state"]}

    def plan_sign(self, plan_id: int, role: str, name: str, force: bool) -> tuple[int, str]:
        from planwise.store.plans import sign

        return sign(self.conn(), plan_id, role, name, force)

    def plan_history(self, plan_id: int) -> list[dict[str, Any]]:
        from planwise.store.plans import history

        return history(self.conn(), plan_id)

    def plan_diff(self, plan_id: int, old: int, new: int) -> str:
        from planwise.store.diff import diff_versions, render_text

        return render_text(diff_versions(self.conn(), plan_id, old, new))

    def plan_export(self, plan_id: int, fmt: str, path: str) -> str:
        """Write the plan (markdown | toml | json | pdf | pdf-client) to path with mode 0600;
        the full path."""
        from planwise.store import export
        from planwise.store.plans import export_toml

        c = self.conn()
        text: str | bytes
        if fmt in ("pdf", "pdf-client"):
            from planwise.documents.plan_pdf import plan_pdf

            text = plan_pdf(c, plan_id, None, "client" if fmt == "pdf-client" else "record")
        elif fmt == "toml":
            text = export_toml(c, plan_id)
        elif fmt == "json":
            text = export.render_json(export.build_record(c, plan_id))
        else:
            text = export.render_markdown(export.build_record(c, plan_id))
        target = Path(path).expanduser()
        export.write_private(str(target), text)
        return str(target.resolve())

