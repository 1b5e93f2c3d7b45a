"""`planwise schema`: the JSON Schema of the contract's documents."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

import click

from planwise.cli.common import echo

if TYPE_CHECKING:  # pydantic is loaded by the command itself: --help stays fast
    from pydantic import BaseModel


@click.command("schema")
@click.argument("document", type=click.Choice(["intake", "proposal", "profile"]))
def schema_cmd(document: str) -> None:
    """Print the JSON Schema of an intake, a proposal or a therapist profile.

    \b
    Example:
        planwise schema intake > intake.schema.json
    """
    from planwise.models import Intake, Profile, Proposal

    models: dict[str, type[BaseModel]] = {"intake": Intake, "proposal": Proposal,
                                          "profile": Profile}
    model = models[document]
    mode: Literal["validation", "serialization"] = (
        "serialization" if document == "proposal" else "validation")
    echo(json.dumps(model.model_json_schema(by_alias=True, mode=mode), indent=2))
