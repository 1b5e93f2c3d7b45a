"""pydantic models of the engine's contract: intake, therapist profile, proposal."""

from planwise.models.intake import Intake
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal

__all__ = ["Intake", "Profile", "Proposal"]
