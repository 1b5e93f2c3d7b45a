"""Where in a knowledge file an error is: the file, the entry id, the field and its line."""

from __future__ import annotations

import re
from pathlib import Path

from planwise.errors import KnowledgeError
from planwise.tomlfile import find_line


def knowledge_error(msg: str, file: Path, text: str, entry: str | None, fld: str | None
                    ) -> KnowledgeError:
    item = re.match(r"^(when|then)\[(\d+)\]", fld or "")
    if item:
        line = item_line(text, entry, item.group(1), int(item.group(2)))
    else:
        key = fld.split(".")[-1].split("[")[0] if fld else None
        line = find_line(text, entry_id=entry, key=key)
    return KnowledgeError(msg, file=str(file), entry=entry, field=fld, line=line)


def item_line(text: str, entry: str | None, key: str, index: int) -> int | None:
    """The line of the index-th condition (or conclusion) of a rule, one per line."""
    start = find_line(text, entry_id=entry, key=key)
    if start is None:
        return None
    lines = text.splitlines()
    if lines[start - 1].count("{ fact") > index or not lines[start - 1].rstrip().endswith("["):
        return start
    seen = -1
    for i in range(start, len(lines)):
        stripped = lines[i].lstrip()
        if stripped.startswith("]"):
            break
        if stripped.startswith("{"):
            seen += 1
            if seen == index:
                return i + 1
    return start
