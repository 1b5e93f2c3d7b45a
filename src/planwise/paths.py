"""Where planwise finds its shipped knowledge and the user's files."""

from __future__ import annotations

import os
from pathlib import Path


def shipped_knowledge_dir() -> Path:
    """The knowledge/ folder: inside the wheel, or at the top of a source checkout.

    The wheel carries it as planwise/_knowledge (see pyproject.toml); an
    editable install or a test run from the checkout reads ../../knowledge.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_knowledge"
    if packaged.is_dir():
        return packaged
    checkout = here.parent.parent / "knowledge"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("planwise's knowledge folder is missing from this installation")


def shipped_cases_dir() -> Path | None:
    """The case library (tests/fixtures/cases): inside the wheel as planwise/_cases, or
    in a source checkout. None when neither is there (an sdist without tests)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_cases", here.parent.parent / "tests" / "fixtures" / "cases"):
        if candidate.is_dir():
            return candidate
    return None


def config_dir() -> Path:
    from platformdirs import user_config_dir

    override = os.environ.get("PLANWISE_CONFIG_DIR")
    return Path(override) if override else Path(user_config_dir("planwise"))


def default_profile_path() -> Path:
    """The user's configured therapist profile (may not exist)."""
    override = os.environ.get("PLANWISE_PROFILE")
    return Path(override) if override else config_dir() / "profile.toml"


def make_private_dir(folder: Path) -> None:
    """Create `folder` and every missing parent with mode 0700, whatever the umask (under
    umask 000, mkdir(parents=True) left ~/.cache world-writable). Folders that exist are
    left as they are."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:  # made by another process in between
            continue
        os.chmod(d, 0o700)
