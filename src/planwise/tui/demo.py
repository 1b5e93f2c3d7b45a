"""`planwise demo`: a temporary database with clearly fictional clients.

This module knows nothing of the interface's services: `seed` takes anything with a
connection, the knowledge and a profile (`Seedable`), so services.py may import it and
it never imports services.py back (the two used to import each other).

`planwise demo --trainee` opens it with the shipped trainee profile (a supervisor named):
every plan then needs the supervisor's co-signature, and Birch's plan is signed by the
trainee already, so the co-sign path is one Ctrl+G away.

The database lives in a temporary folder that is removed when the demo ends:
on quit (Services.close), on an error while it starts (Services.open), on
SIGHUP or SIGTERM (a closed terminal window, a kill: the handler removes the
folder, then lets the signal end the process as it would have), and at exit
as a last resort.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from planwise.dates import today
from planwise.paths import shipped_knowledge_dir

if TYPE_CHECKING:
    from planwise.kb.loader import KnowledgeBase
    from planwise.models.profile import Profile
    from planwise.store.db import Conn


class Seedable(Protocol):
    """What seeding needs: a connection, the knowledge, the therapist's profile."""

    @property
    def kb(self) -> KnowledgeBase: ...

    @property
    def profile(self) -> Profile | None: ...

    def conn(self) -> Conn: ...

EXAMPLES = ("depression-alcohol.toml", "panic-agoraphobia.toml", "ptsd-trauma.toml",
            "schizophrenia-work.toml")
NAMES = ("Ash Demo (fictional)", "Birch Demo (fictional)",
         "Cedar Demo (fictional)", "Dogwood Demo (fictional)")


_FOLDERS: list[Path] = []
_SIGNALS = ("SIGHUP", "SIGTERM")
_previous: dict[int, Any] = {}


def make_folder() -> Path:
    """A new private temporary folder for the demo's database, removed at the latest when
    the process ends (see the module's docstring)."""
    folder = Path(tempfile.mkdtemp(prefix="planwise-demo-"))
    if not _FOLDERS:
        atexit.register(remove_all)
        _install_handlers()
    _FOLDERS.append(folder)
    return folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder in _FOLDERS:
        _FOLDERS.remove(folder)


def remove_all() -> None:
    for folder in list(_FOLDERS):
        remove(folder)


def _install_handlers() -> None:
    for name in _SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        if signal.getsignal(signum) is signal.SIG_IGN:
            # Started under nohup (hang-ups ignored): keep ignoring. A handler here would
            # remove the folder and then, the signal still ignored, leave the demo
            # running without its database.
            continue
        try:
            _previous[signum] = signal.signal(signum, _on_signal)
        except ValueError:  # not the main thread: atexit and close() still remove it
            return


def _on_signal(signum: int, frame: FrameType | None) -> None:
    remove_all()
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    # The default action (end the process), now that the folder is gone.
    signal.signal(signum, signal.SIG_DFL if previous is None else previous)
    os.kill(os.getpid(), signum)


def example_dir() -> Path:
    """examples/ in a checkout, or the copy shipped in the wheel."""
    knowledge = shipped_knowledge_dir()
    packaged = knowledge.parent / "_examples"
    return packaged if packaged.is_dir() else knowledge.parent / "examples"


def trainee_profile() -> Path:
    """The fictional trainee's profile (A. Trainee, supervised by B. Supervisor)."""
    return example_dir() / "profile-trainee.toml"


# Ash's course after the intake (PHQ-9 16): eight weekly sessions, the PHQ-9 given every
# other one and staying inside its reliable-change band, the feedback falling. The scores
# screen (g), the review (r: no reliable change after 8 sessions) and the caseload's
# attention mark have something to show.
ASH_PHQ9 = {1: [2, 2, 2, 2, 2, 2, 2, 1, 0], 3: [2, 2, 2, 2, 2, 2, 1, 2, 0],
            5: [2, 2, 2, 2, 2, 2, 2, 2, 0], 7: [2, 2, 2, 2, 2, 2, 2, 2, 0]}


def seed(services: Seedable) -> None:
    from planwise.store.clients import add_client
    from planwise.store.plans import draft

    c = services.conn()
    folder = example_dir()
    for name, example in zip(NAMES, EXAMPLES, strict=True):
        client_id = add_client(c, name)
        path = folder / example
        if not path.is_file():
            continue
        if example == EXAMPLES[0]:
            # Ash's intake was nine weeks ago, so the weekly course has real dates.
            intake = f"I{backdated_intake(services, client_id, path, weeks=9)}"
            plan_id = draft(c, client_id, intake, services.kb, services.profile)
            seed_course(services, plan_id)
        else:
            plan_id = draft(c, client_id, str(path), services.kb, services.profile)
            if example == EXAMPLES[1]:
                signed_by_the_trainee(services, plan_id)
    add_client(c, "Elm Demo (fictional, no intake yet)")


def signed_by_the_trainee(services: Seedable, plan_id: int) -> None:
    """With a supervised profile, the trainee has signed this plan: it waits for the
    supervisor's co-signature (the path a trainee's plan takes)."""
    from planwise.errors import InputError
    from planwise.store.plans import sign

    profile = services.profile
    if profile is None or not profile.therapist.supervisor:
        return
    try:
        sign(services.conn(), plan_id, "therapist", profile.therapist.name)
    except InputError:  # the SMART check fails with other knowledge: left unsigned
        pass


def backdated_intake(services: Seedable, client_id: int, path: Path, weeks: int) -> int:
    """Store the example intake as if it had been taken `weeks` weeks before today."""
    import datetime as dt
    import tomllib

    from planwise.store.clients import add_intake_data

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["date"] = today() - dt.timedelta(weeks=weeks)
    return add_intake_data(services.conn(), client_id, data, services.kb)


def seed_course(services: Seedable, plan_id: int) -> None:
    """Sessions a week apart from the plan's start, none later than today."""
    import datetime as dt

    from planwise.store.plans import current_version, load_doc_for
    from planwise.store.sessions import add_session
    from planwise.tui.widgets.plan_model import open_objectives

    c = services.conn()
    start = dt.date.fromisoformat(current_version(c, plan_id)["start_date"])
    now = today()
    objectives = [o.key for o in open_objectives(load_doc_for(c, plan_id))]
    if now < start or not objectives:
        return
    for i in range(8):
        day = min(now, start + dt.timedelta(weeks=i + 1))
        mean = max(3, 8 - i // 2)
        add_session(c, plan_id, day.isoformat(), [f"{objectives[0]}:{min(10, i + 1)}"],
                    f"Demo session {i + 1} (fictional).",
                    feedback={"heard": mean, "mattered": mean, "approach": mean,
                              "overall": mean},
                    measures=[("phq9", ASH_PHQ9[i])] if i in ASH_PHQ9 else None,
                    instruments=services.kb.instruments)
