"""Full-text search over client names, intake summaries and session notes.

The index is migration 9's (planwise.store.fts). `search()` returns the best
matches, ranked, each with the words found marked in a short snippet; the
command line (`planwise search`) and the interface (Ctrl+F) both call it.

What the user types is words, never query syntax: `match_expression` quotes every
word, so `NOT`, `OR`, `-`, `:`, `(`, `^` and a lone `"` are plain text and no input
can make the query fail. The rule is sqlite-utils' `Database.quote_fts` (a
"quoted phrase" stays a phrase, an odd `"` is closed at the end; the tests hold
the two together) plus prefixes: `attack*` finds every word starting with
"attack", and the interface, searching as you type, treats the last word so.
It is written here rather than imported because importing sqlite-utils costs
about 0.1 s, and the interface's workers must not import modules (services.warm).

All the words must appear, except COMMON ones ("at", "the", "we") typed beside
others, which are left out (inside a quoted phrase they count); when no record has
them all, the records with any of them are given instead, ranked the same way, and
`Results.any_words` says so.

Ranking is FTS5's bm25 (rarer words and shorter texts weigh more) within each
index; the three lists are merged by that score. Snippets hold client data: they go
to the screen or the command's output, never to a log or an error message.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planwise.errors import InputError
from planwise.store import ids
from planwise.store.fts import INTAKE_FTS

if TYPE_CHECKING:
    from planwise.store.db import Conn

MARK_START, MARK_END = "\x02", "\x03"  # around each word found; never in a stored record
ELLIPSIS = "…"
SNIPPET_TOKENS = 14
MAX_LIMIT = 200
MAX_QUERY = 500  # characters looked at: a pasted page searches its start
RANKED = 1000    # at most this many matches (the newest) are scored and counted, per index

_QUOTE_RE = re.compile(r'\s+|(".*?")')  # sqlite-utils' _quote_fts_re
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Words in nearly every note, left out of a query with other words: they narrow nothing,
# rank for little (bm25) and cost the most to match ("panic attack at work" took twice
# as long as "panic attack work"). Inside "a quoted phrase" they stay.
COMMON = frozenset(
    "a an and are as at be but by for from had has have he her his i in is it of on or "
    "she so that the their them they this to was we were with you".split())


@dataclass(frozen=True)
class Hit:
    kind: str              # "client", "intake" or "session"
    id: int                # the record's id
    client_id: int
    client_name: str
    date: str | None       # the intake's or the session's date
    plan_id: int | None    # sessions only
    number: int | None     # the session's number in its plan
    snippet: str           # the text around the words found, each between MARK_START/END
    text: str              # the whole text matched (name, summary or note)
    score: float           # bm25: lower is better

    @property
    def ref(self) -> str:
        return ids.fmt(self.kind, self.id)

    @property
    def client_ref(self) -> str:
        return ids.fmt("client", self.client_id)


@dataclass(frozen=True)
class Results:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0             # matching records (counted up to RANKED + 1 per index)
    more: bool = False         # an index had more than RANKED: its newest RANKED were ranked
    any_words: bool = False    # no record had every word: these have some of them
    words: int = 0             # the words (and phrases) searched for


def _terms(text: str, prefix_last: bool, drop_common: bool = True) -> list[str]:
    """The query's words and phrases, each quoted for FTS5 (a trailing * kept outside).
    `drop_common`: leave out COMMON words, unless nothing else is left."""
    # A control character is a word break (FTS5 reads the expression as a C string: a NUL
    # would end it inside a quoted word).
    text = _CONTROLS.sub(" ", text[:MAX_QUERY])
    if text.count('"') % 2:
        text += '"'
    bits = [b for b in _QUOTE_RE.split(text) if b and b != '""']
    out: list[tuple[str, bool]] = []
    for i, bit in enumerate(bits):
        if bit.startswith('"'):
            body, star = bit[1:-1], False
        else:
            body = bit.rstrip("*")
            star = body != bit or (prefix_last and i == len(bits) - 1
                                   and not text[-1:].isspace())
        if not any(ch.isalnum() for ch in body):
            continue  # no word in it (a lone *, a dash): FTS5 would ignore it anyway
        common = drop_common and not star and not bit.startswith('"') \
            and body.lower() in COMMON
        out.append((f'"{body}"' + ("*" if star else ""), common))
    kept = [t for t, common in out if not common]
    return kept or [t for t, _ in out]


def match_expression(text: str, *, prefix_last: bool = False, any_words: bool = False,
                     drop_common: bool = True) -> str:
    """An FTS5 MATCH expression that searches `text` as plain words ("" when it has none).
    `prefix_last`: the last word may be unfinished (search as you type)."""
    return (" OR " if any_words else " ").join(_terms(text, prefix_last, drop_common))


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """(text, found) pieces of a snippet, for whoever shows it."""
    out: list[tuple[str, bool]] = []
    for i, piece in enumerate(re.split(f"[{MARK_START}{MARK_END}]", snippet)):
        if piece:
            out.append((piece, i % 2 == 1))
    return out


# Per index: its FTS table, the records' table, and the SQL from a matched rowid to the
# hit's fields (client, date, plan, number, whole text).
_INDEXES: dict[str, tuple[str, str]] = {
    "client": ("clients_fts", "SELECT c.id AS client_id, c.name AS client_name, NULL AS date, "
               "NULL AS plan_id, NULL AS number, c.name AS text FROM clients c "
               "WHERE c.id = ?"),
    "intake": (INTAKE_FTS, "SELECT i.client_id, c.name AS client_name, i.date, NULL AS plan_id, "
               "NULL AS number, json_extract(i.data, '$.screening.summary') AS text "
               "FROM intakes i JOIN clients c ON c.id = i.client_id WHERE i.id = ?"),
    "session": ("sessions_fts", "SELECT p.client_id, c.name AS client_name, s.date, s.plan_id, "
                "s.number, s.note AS text FROM sessions s JOIN plans p ON p.id = s.plan_id "
                "JOIN clients c ON c.id = p.client_id WHERE s.id = ?"),
}
# The same records narrowed to one client, for --client.
_OF_CLIENT = {
    "client": "f.rowid = :client",
    "intake": "f.rowid IN (SELECT id FROM intakes WHERE client_id = :client)",
    "session": "f.rowid IN (SELECT s.id FROM sessions s JOIN plans p ON p.id = s.plan_id "
               "WHERE p.client_id = :client)",
}


def _where(kind: str, client_id: int | None) -> str:
    where = f"f.{_INDEXES[kind][0]} MATCH :q"
    return where if client_id is None else f"{where} AND {_OF_CLIENT[kind]}"


def _ranked(c: Conn, kind: str, expr: str, client_id: int | None, limit: int
            ) -> list[tuple[float, str, int, str]]:
    """(score, kind, id, snippet) of the index's best `limit` matches."""
    fts, where = _INDEXES[kind][0], _where(kind, client_id)
    args: dict[str, Any] = {"q": expr, "client": client_id, "n": limit, "a": MARK_START,
                            "b": MARK_END, "e": ELLIPSIS}
    # Scoring costs about 4 µs a record and word (190 ms for one word in 50,000 notes);
    # finding the newest RANKED matches is cheap (FTS5 walks its lists by rowid, which
    # grows with time). So at most the RANKED newest matches are scored: more than that
    # means common words, and the newest records are the likeliest wanted.
    cut = c.one(f"SELECT f.rowid AS id FROM {fts} f WHERE {where} ORDER BY f.rowid DESC "
                f"LIMIT 1 OFFSET {RANKED - 1}", args)
    if cut is not None:
        where += " AND f.rowid >= :cut"
        args["cut"] = cut["id"]
    # ORDER BY rank is FTS5's own: the snippet is made for the `limit` rows returned only.
    found = c.query(f"SELECT f.rowid AS id, f.rank AS score, snippet({fts}, 0, :a, :b, :e, "
                    f"{SNIPPET_TOKENS}) AS snip FROM {fts} f WHERE {where} "
                    "ORDER BY f.rank LIMIT :n", args)
    return [(float(r["score"]), kind, int(r["id"]), " ".join(str(r["snip"] or "").split()))
            for r in found]


def _count(c: Conn, kind: str, expr: str, client_id: int | None) -> int:
    """How many records match, counted up to RANKED + 1 (a full count of a common word
    costs as much as the search itself)."""
    fts, where = _INDEXES[kind][0], _where(kind, client_id)
    row = c.one(f"SELECT count(*) AS n FROM (SELECT 1 FROM {fts} f WHERE {where} "
                f"LIMIT {RANKED + 1})", {"q": expr, "client": client_id})
    return int(row["n"]) if row else 0


def _hit(c: Conn, score: float, kind: str, rowid: int, snippet: str) -> Hit | None:
    row = c.one(_INDEXES[kind][1], [rowid])
    if row is None:
        return None  # gone since the ranking (a client deleted meanwhile)
    return Hit(kind, rowid, int(row["client_id"]), str(row["client_name"]), row["date"],
               row["plan_id"], row["number"], snippet, str(row["text"] or ""), score)


def search(c: Conn, text: str, *, client_id: int | None = None, limit: int = 20,
           prefix_last: bool = False, kinds: tuple[str, ...] = ("client", "intake", "session")
           ) -> Results:
    """The `limit` best records matching `text` (plain words), best first; `client_id`:
    that client's records only. Read-only, in one snapshot."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    terms = _terms(text, prefix_last)
    if not terms:
        return Results()
    began = not c.raw.in_transaction
    if began:
        c.raw.execute("BEGIN")  # one snapshot: the ranks, counts and rows agree
    try:
        return _search(c, terms, client_id, limit, kinds)
    except sqlite3.OperationalError as exc:
        # Never expected (every word is quoted); said without the words, which may be a name.
        if str(exc).startswith("fts5:"):
            raise InputError("the search words could not be read as words") from None
        raise
    finally:
        if began and c.raw.in_transaction:
            c.raw.execute("COMMIT")


def _search(c: Conn, terms: list[str], client_id: int | None, limit: int,
            kinds: tuple[str, ...]) -> Results:
    for any_words in ((False, True) if len(terms) > 1 else (False,)):
        expr = (" OR " if any_words else " ").join(terms)
        ranked = [r for kind in kinds for r in _ranked(c, kind, expr, client_id, limit)]
        if ranked:
            ranked.sort(key=lambda r: r[:3])
            hits = [h for h in (_hit(c, *r) for r in ranked[:limit]) if h is not None]
            counts = [_count(c, kind, expr, client_id) for kind in kinds]
            return Results(hits, sum(counts), max(counts) > RANKED, any_words, len(terms))
    return Results(words=len(terms))


def rows(results: Results) -> list[dict[str, Any]]:
    """The hits as plain dicts (JSON output), the snippet's marks as [ ]."""
    return [{"kind": h.kind, "id": h.ref, "client": h.client_ref, "name": h.client_name,
             "date": h.date, "plan": ids.fmt("plan", h.plan_id) if h.plan_id else None,
             "number": h.number, "score": round(h.score, 4) + 0.0,  # never -0.0
             "snippet": h.snippet.replace(MARK_START, "[").replace(MARK_END, "]")}
            for h in results.hits]
