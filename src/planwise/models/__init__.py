"""pydantic models of the engine's contract: intake, therapist profile, proposal.

The names below load on first use: importing one model module (the config file's, say)
does not build every contract's classes (cold start, issue 12).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planwise.models.intake import Intake
    from planwise.models.profile import Profile
    from planwise.models.proposal import Proposal

__all__ = ["Intake", "Profile", "Proposal"]
_HOMES = {"Intake": "planwise.models.intake", "Profile": "planwise.models.profile",
          "Proposal": "planwise.models.proposal"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'planwise.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
