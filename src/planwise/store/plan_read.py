"""Reading stored plans: a version's rows back into a plan document.

Kept apart from planwise.store.plans (which writes) so that lint, export and the
course can read a plan without importing the writer, and the writer can lint
before signing without an import cycle.
"""

from __future__ import annotations

import json
from typing import Any

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.db import Conn
from planwise.store.models import PlanDoc

_ROW_FIELDS = ("kind", "key", "parent_key", "position", "origin", "rejection_reason",
               "proposed", "data", "because")


def doc_from_rows(plan: dict[str, Any], version: dict[str, Any], rows: list[dict[str, Any]]
                  ) -> PlanDoc:
    items: dict[str, dict[str, Any]] = {}
    top: dict[str, list[dict[str, Any]]] = {"problem": [], "treatment": [], "referral": [],
                                            "assessment": [], "warning": []}
    for r in sorted(rows, key=lambda r: r["position"]):
        d = {"key": r["key"], "origin": r["origin"], "rejection_reason": r["rejection_reason"],
             "because": json.loads(r["because"]), **json.loads(r["data"])}
        if r["kind"] == "problem":
            d["goals"] = []
        elif r["kind"] == "goal":
            d["objectives"], d["interventions"] = [], []
        items[r["key"]] = d
        if r["kind"] in top:
            top[r["kind"]].append(d)
        else:
            parent = items[r["parent_key"]]
            field = {"goal": "goals", "objective": "objectives",
                     "intervention": "interventions"}[r["kind"]]
            parent[field].append(d)
    return PlanDoc.model_validate({
        "schema": "planwise.plan/1", "plan": ids.fmt("plan", plan["id"]),
        "client": ids.fmt("client", plan["client_id"]), "version": version["version"],
        "start_date": version["start_date"], "review_date": version["review_date"],
        "risk_level": version["risk_level"], "problems": top["problem"],
        "treatment": top["treatment"][0] if top["treatment"] else None,
        "referrals": top["referral"], "assessments": top["assessment"],
        "warnings": top["warning"],
    })


# --- reading ---------------------------------------------------------------------------

def get_plan(c: Conn, plan_id: int) -> dict[str, Any]:
    row = c.one("SELECT * FROM plans WHERE id = ?", [plan_id])
    if row is None:
        raise InputError(f"no plan {ids.fmt('plan', plan_id)}")
    return row


def current_version(c: Conn, plan_id: int) -> dict[str, Any]:
    row = c.one("SELECT pv.*, st.state FROM plan_versions pv JOIN plan_version_state st "
                "ON st.version_id = pv.id WHERE pv.plan_id = ? ORDER BY pv.version DESC "
                "LIMIT 1", [plan_id])
    assert row is not None
    return row


def version_rows(c: Conn, version_id: int) -> list[dict[str, Any]]:
    return c.query(f"SELECT {', '.join(_ROW_FIELDS)} FROM plan_items WHERE version_id = ? "
                   "ORDER BY position", [version_id])


def plan_and_version(c: Conn, plan_id: int, version: int | None = None
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan row and one version's row (the current one when `version` is None)."""
    plan = get_plan(c, plan_id)
    v: dict[str, Any] | None
    if version is None:
        v = current_version(c, plan_id)
    else:
        v = c.one("SELECT * FROM plan_versions WHERE plan_id = ? AND version = ?",
                  [plan_id, version])
        if v is None:
            raise InputError(f"{ids.fmt('plan', plan_id)} has no version {version}")
    return plan, v


def load_doc_for(c: Conn, plan_id: int, version: int | None = None) -> PlanDoc:
    """A version as an editable document; it carries the version's row_version, so
    saving it back (save_doc) refuses if someone else saved in between."""
    plan, v = plan_and_version(c, plan_id, version)
    doc = doc_from_rows(plan, v, version_rows(c, v["id"]))
    doc.row_version = v["row_version"]
    return doc
