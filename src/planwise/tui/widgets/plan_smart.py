"""SMART letters as text: passing letters plain, failing ones marked "!" (readable without
colour; colour only repeats the mark)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from planwise.store.lint import LETTERS, Finding

FAIL_STYLE = "bold red"


def failing(findings: Iterable[Finding]) -> set[str]:
    return {f.letter for f in findings}


def smart_text(bad: set[str]) -> Text:
    """'S M A R T', with failing letters as '!M'."""
    out = Text()
    for i, letter in enumerate(LETTERS):
        if i:
            out.append(" ")
        if letter in bad:
            out.append("!" + letter, style=FAIL_STYLE)
        else:
            out.append(letter)
    return out


# A failing letter's reason in a few words, for the objective's own line in the tree (the
# full message is in the detail under the tree).
_SHORT = {"S": "task not observable", "M": "measure has no number",
          "R": "no intervention linked", "T": "no due date"}


def short_reason(f: Finding) -> str:
    """'!M measure has no number', '!A due before 2027-01-03'."""
    if f.letter == "A":
        _, _, rest = f.message.partition("sooner than ")
        return f"!A due before {rest.split(' ')[0]}" if rest else "!A too soon"
    return f"!{f.letter} {_SHORT.get(f.letter, f.message)}"


def findings_text(findings: list[Finding], *, ok: str = "SMART: all five letters pass."
                  ) -> Text:
    """One line per failing letter with its reason."""
    if not findings:
        return Text(ok)
    out = Text()
    for i, f in enumerate(findings):
        if i:
            out.append("\n")
        out.append("!" + f.letter, style=FAIL_STYLE)
        out.append(" " + f.message)
    return out
