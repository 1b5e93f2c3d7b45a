"""The terminal interface (Textual). Nothing outside this package imports Textual.

    run(db_path=None, demo=False)   open the app on a database (or a seeded demo one)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planwise.config import Chosen


def run(db_path: Path | None = None, *, demo: bool = False, profile_path: str | None = None,
        knowledge_dirs: tuple[str, ...] = (), theme: Chosen | None = None) -> None:
    if db_path is not None and not demo:
        from planwise.store import keys

        keys.prefetch(db_path)  # an encrypted database's key, beside the imports below
    from planwise.dates import today
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.services import Services

    today()  # a bad PLANWISE_TODAY is reported here (exit 2), not inside the running app
    if theme is not None:  # and a bad theme before any database is opened
        from textual.theme import BUILTIN_THEMES

        from planwise.tui.colours import checked_theme

        checked_theme(theme, BUILTIN_THEMES)
    services = Services.open(db_path, demo=demo, profile_path=profile_path,
                             knowledge_dirs=knowledge_dirs,
                             first_run=not demo and _first_run(db_path))
    try:
        app = PlanwiseApp(services, theme=theme)
        app.run()
    finally:
        services.close()
    if app.crash is not None:  # said on the crash screen; said again on the terminal
        from planwise.tui.crash import InterfaceCrashed, exit_message

        raise InterfaceCrashed(exit_message(app.crash))


def _first_run(db_path: Path | None) -> bool:
    """`planwise` (`make run`) on a fresh machine: the default database does not exist yet,
    so the interface offers to encrypt it (screens/passphrase.py). A database named by
    --db, PLANWISE_DB or the config file, or a passphrase file, is created as it is
    (tests and scripts never meet the question)."""
    from platformdirs import user_data_dir

    from planwise.store.keys import passphrase_file

    if db_path is None or Path(db_path).exists():
        return False
    default = Path(user_data_dir("planwise")) / "planwise.db"
    return Path(db_path).absolute() == default.absolute() and passphrase_file() is None
