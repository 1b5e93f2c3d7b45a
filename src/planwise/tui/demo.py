"""`planwise demo`: a temporary database with clearly fictional clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planwise.paths import shipped_knowledge_dir

if TYPE_CHECKING:
    from planwise.tui.services import Services

EXAMPLES = ("depression-alcohol.toml", "panic-agoraphobia.toml", "ptsd-trauma.toml",
            "schizophrenia-work.toml")
NAMES = ("Ash Demo (fictional)", "Birch Demo (fictional)",
         "Cedar Demo (fictional)", "Dogwood Demo (fictional)")


def example_dir():  # type: ignore[no-untyped-def]
    """examples/ in a checkout, or the copy shipped in the wheel."""
    knowledge = shipped_knowledge_dir()
    packaged = knowledge.parent / "_examples"
    return packaged if packaged.is_dir() else knowledge.parent / "examples"


def seed(services: Services) -> None:
    from planwise.store.clients import add_client
    from planwise.store.plans import draft

    c = services.conn()
    folder = example_dir()
    for name, example in zip(NAMES, EXAMPLES, strict=True):
        client_id = add_client(c, name)
        path = folder / example
        if path.is_file():
            draft(c, client_id, str(path), services.kb, services.profile)
    add_client(c, "Elm Demo (fictional, no intake yet)")
