"""The editable fields of plan items, as the proposal review and the plan editor ask for
them: their labels, and how typed values are checked and turned into values (a number
in range, a word from the knowledge's vocabulary, a list separated by commas). Pure
Python: no Textual."""

from __future__ import annotations

from typing import Any

SEVERITIES = ("mild", "moderate", "severe")
URGENCIES = ("routine", "soon", "urgent", "immediate")

FIELD_LABELS = {"text": "Text", "client_action": "Client action (observable)",
                "measure": "Measure (a number or an instrument)",
                "target_weeks": "Target (weeks from the start)",
                "severity": "Severity (mild, moderate or severe)",
                "modality": "Modality (an id, e.g. cbt)",
                "kind": "Referral to (an id, e.g. psychiatry)",
                "urgency": "Urgency (routine, soon, urgent, immediate)",
                "reason": "Reason",
                "instrument": "Instrument (an id, e.g. phq9)",
                "sessions_min": "Sessions, at least",
                "sessions_max": "Sessions, at most",
                "frequency_per_week": "Sessions a week",
                "level_of_care": "Level of care (e.g. outpatient)",
                "review_weeks": "Review after (weeks)",
                "modalities": "Modalities (ids, separated by commas)"}
SHORT_LABELS = {"client_action": "Client action", "target_weeks": "Target weeks",
                "sessions_min": "Sessions min", "sessions_max": "Sessions max",
                "frequency_per_week": "A week", "level_of_care": "Level of care",
                "review_weeks": "Review weeks", "kind": "Referral to"}
# Whole numbers and their ranges.
NUMBERS = {"target_weeks": (1, 104), "sessions_min": (0, 200), "sessions_max": (0, 200),
           "frequency_per_week": (0, 14), "review_weeks": (1, 104)}
# Fields whose value is a word from a vocabulary (the kb's, passed in as `vocab`).
WORDS = {"modality": "modalities", "kind": "referral_kinds",
         "level_of_care": "levels_of_care", "instrument": "instruments"}


def shown(value: Any) -> str:
    """A field's value as it is typed: lists separated by commas."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _word(name: str, raw: str, known: set[str] | None) -> tuple[str, str | None]:
    word = raw.strip().lower().replace(" ", "_").replace("-", "_") if name != "instrument" \
        else raw.strip().lower().replace("-", "")
    if known is not None and word not in known:
        examples = ", ".join(sorted(known)[:6])
        return word, f"{FIELD_LABELS[name].split(' (')[0]}: {raw.strip()[:30]!r} is not known; " \
                     f"e.g. {examples}."
    return word, None


def check_values(fields: tuple[str, ...], values: dict[str, Any],
                 modalities: set[str] | None = None, *,
                 vocab: dict[str, set[str]] | None = None
                 ) -> tuple[dict[str, Any], str | None]:
    """Clean a dialog's values; (values, problem or None). The problem names the field
    first ('Urgency: ...'), so the dialog can put the cursor in it."""
    vocab = dict(vocab or {})
    if modalities is not None:
        vocab.setdefault("modalities", modalities)
    out: dict[str, Any] = {}
    for name in fields:
        raw = str(values.get(name, "")).strip()
        label = FIELD_LABELS.get(name, name).split(" (")[0]
        if not raw:
            return out, f"{label}: cannot be empty."
        if name in NUMBERS:
            low, high = NUMBERS[name]
            if not raw.isdigit() or not low <= int(raw) <= high:
                return out, f"{label}: a whole number from {low} to {high}."
            out[name] = int(raw)
        elif name == "severity":
            if raw.lower() not in SEVERITIES:
                return out, f"{label}: mild, moderate or severe."
            out[name] = raw.lower()
        elif name == "urgency":
            if raw.lower() not in URGENCIES:
                return out, f"{label}: routine, soon, urgent or immediate."
            out[name] = raw.lower()
        elif name in WORDS:
            out[name], problem = _word(name, raw, vocab.get(WORDS[name]))
            if problem:
                return out, problem
        elif name == "modalities":
            words = [w for w in (x.strip() for x in raw.split(",")) if w]
            cleaned = []
            for w in words:
                word, problem = _word("modality", w, vocab.get("modalities"))
                if problem:
                    return out, problem.replace("Modality", label, 1)
                cleaned.append(word)
            out[name] = list(dict.fromkeys(cleaned))
        else:
            out[name] = raw
    if "sessions_min" in out and "sessions_max" in out \
            and out["sessions_min"] > out["sessions_max"]:
        return out, "Sessions, at most: not below the minimum."
    return out, None


def field_of(problem: str, fields: tuple[str, ...]) -> str | None:
    """The field a check_values problem names (for moving the cursor to it)."""
    head = problem.split(":", 1)[0]
    for name in fields:
        if FIELD_LABELS.get(name, name).split(" (")[0] == head:
            return name
    return None
