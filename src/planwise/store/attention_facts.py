"""Migration 12: what the caseload's flags read from plans and ratings, out of the JSON.

Computing a plan's flags the first time (planwise.store.attention_data) needs, of its
current version, the problems' condition and severity, the treatment's review
interval, frequency and level of care, and the objectives' status and anticipated
date with their goal and problem; and, per objective, its last progress rating.
Read from `plan_items.data` (JSON, parsed on every call by SQLite's JSON functions)
and from every rating grouped, that was most of a cold caseload (issue 12: 2.4 s of
10,000 clients on a quiet machine). Two derived tables hold them instead:

- `plan_item_facts`: one narrow row per problem, goal, objective and treatment item
  of every version (keyed by version and item key, as `plan_items` is), written by
  triggers on `plan_items` whatever writes the items (a save, a draft edit, a
  revision, a restore), so it can never disagree with them; the rows of a signed
  version are as immutable as its items.
- `last_ratings`: per plan and objective key, the rating of the highest-numbered
  session that rated it (and that session's number and date), advanced by a trigger
  on `session_objectives` (append-only). It is the last rating *up to a day* when
  its session's date is on or before that day; a dashboard as of an earlier day
  reads the ratings themselves for the plans where it is not (attention_data).

Both are filled for the rows already there by the migration itself. Derived data,
no names and no notes. The hash chain and the signatures' digests cover
`plan_items` and `session_objectives` as before (integrity.ITEM_COLS and CHAINED
are unchanged); `planwise verify` checks these tables' triggers like every other.
Released with migration 12: never changed, a change is a new migration.
"""

from __future__ import annotations

from collections.abc import Callable

# The kinds the flags read, and what each keeps (the JSON paths of its data).
_FACTS = (
    ("status", "objective", "$.status"),
    ("due", "objective", "$.anticipated"),
    ("condition", "problem", "$.condition"),
    ("severity", "problem", "$.severity"),
    ("review_weeks", "treatment", "$.review_weeks"),
    ("frequency_per_week", "treatment", "$.frequency_per_week"),
    ("level_of_care", "treatment", "$.level_of_care"),
)
KINDS = ("problem", "goal", "objective", "treatment")
_KINDS_SQL = ", ".join(f"'{k}'" for k in KINDS)
COLUMNS = ("version_id", "key", "kind", "parent_key", "position", "live",
           *(name for name, _kind, _path in _FACTS))


def _values(r: str) -> str:
    """SQL: the facts of the plan_items row `r` (NEW, or an alias), in COLUMNS order."""
    facts = ", ".join(f"CASE WHEN {r}.kind = '{kind}' THEN json_extract({r}.data, '{path}') END"
                      for _name, kind, path in _FACTS)
    return (f"{r}.version_id, {r}.key, {r}.kind, {r}.parent_key, {r}.position, "
            f"{r}.origin <> 'proposed_rejected', {facts}")


def migration_12(locked: Callable[[str], str]) -> str:
    cols = ", ".join(COLUMNS)
    insert = f"INSERT OR REPLACE INTO plan_item_facts ({cols})"
    return f"""
-- The caseload's facts of plan items, out of their JSON (planwise.store.attention_facts).
-- Columns without a type keep json_extract's values exactly (integers stay integers).
CREATE TABLE plan_item_facts (
    version_id INTEGER NOT NULL REFERENCES plan_versions (id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_key TEXT,
    position INTEGER NOT NULL,
    live INTEGER NOT NULL,          -- 1 unless the item's origin is proposed_rejected
    status, due,                    -- objective: status, anticipated
    condition, severity,            -- problem
    review_weeks, frequency_per_week, level_of_care,   -- treatment
    PRIMARY KEY (version_id, key)
) WITHOUT ROWID;
{insert}
SELECT {_values('it')} FROM plan_items it WHERE it.kind IN ({_KINDS_SQL})
ORDER BY it.version_id, it.key;
-- Kept in step with plan_items by whatever writes them. OR REPLACE: an INSERT OR REPLACE
-- of an item (allowed in a draft) deletes the old row without its delete trigger.
CREATE TRIGGER plan_item_facts_on_insert AFTER INSERT ON plan_items
    WHEN NEW.kind IN ({_KINDS_SQL})
BEGIN {insert} VALUES ({_values('NEW')}); END;
CREATE TRIGGER plan_item_facts_on_update AFTER UPDATE ON plan_items
BEGIN
    DELETE FROM plan_item_facts WHERE version_id = OLD.version_id AND key = OLD.key;
    {insert} SELECT {_values('NEW')} WHERE NEW.kind IN ({_KINDS_SQL});
END;
CREATE TRIGGER plan_item_facts_on_delete AFTER DELETE ON plan_items
BEGIN DELETE FROM plan_item_facts WHERE version_id = OLD.version_id AND key = OLD.key; END;
-- A signed version's facts are as immutable as its items.
CREATE TRIGGER plan_item_facts_signed_no_insert BEFORE INSERT ON plan_item_facts
    WHEN {locked('NEW.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER plan_item_facts_signed_no_update BEFORE UPDATE ON plan_item_facts
    WHEN {locked('OLD.version_id')} OR {locked('NEW.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;
CREATE TRIGGER plan_item_facts_signed_no_delete BEFORE DELETE ON plan_item_facts
    WHEN {locked('OLD.version_id')}
BEGIN SELECT RAISE(ABORT, 'planwise: a signed plan version is immutable'); END;

-- Per plan and objective, the last rating given (the highest session number).
CREATE TABLE last_ratings (
    plan_id INTEGER NOT NULL REFERENCES plans (id),
    key TEXT NOT NULL,              -- the objective's key
    number INTEGER NOT NULL,        -- the session that gave it
    date TEXT NOT NULL,             -- and its date
    rating INTEGER NOT NULL,
    PRIMARY KEY (plan_id, key)
) WITHOUT ROWID;
INSERT INTO last_ratings (plan_id, key, number, date, rating)
SELECT s.plan_id, so.objective_key, max(s.number), s.date, so.rating
FROM session_objectives so JOIN sessions s ON s.id = so.session_id
WHERE so.rating IS NOT NULL GROUP BY s.plan_id, so.objective_key;
-- A dashboard as of an earlier day finds the plans whose last ratings are after it.
CREATE INDEX last_ratings_date ON last_ratings (date);
CREATE TRIGGER last_ratings_on_insert AFTER INSERT ON session_objectives
    WHEN NEW.rating IS NOT NULL
BEGIN
    INSERT INTO last_ratings (plan_id, key, number, date, rating)
    SELECT s.plan_id, NEW.objective_key, s.number, s.date, NEW.rating
    FROM sessions s WHERE s.id = NEW.session_id
    ON CONFLICT (plan_id, key) DO UPDATE SET number = excluded.number,
        date = excluded.date, rating = excluded.rating
    WHERE excluded.number > last_ratings.number;
END;
-- Ratings are append-only: their last one only moves forward.
CREATE TRIGGER last_ratings_no_delete BEFORE DELETE ON last_ratings
BEGIN SELECT RAISE(ABORT, 'planwise: ratings are append-only'); END;
CREATE TRIGGER last_ratings_forward_only BEFORE UPDATE ON last_ratings
    WHEN NEW.plan_id IS NOT OLD.plan_id OR NEW.key IS NOT OLD.key
      OR NEW.number <= OLD.number
BEGIN SELECT RAISE(ABORT, 'planwise: ratings are append-only'); END;
"""
