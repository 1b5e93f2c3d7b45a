"""The config file's keys (planwise.config reads the file and settles each setting)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_KNOWLEDGE_DIRS = 20

Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ConfigFile(BaseModel):
    """The keys a config file may set (any other is refused: a typo would be ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    database: Text | None = Field(None, description="The planwise database file.")
    profile: Text | None = Field(None, description="The therapist profile (TOML).")
    knowledge: list[Text] = Field(default_factory=list, max_length=MAX_KNOWLEDGE_DIRS,
                                  description="Clinic knowledge folders, in order.")
    theme: Text | None = Field(None, description="The interface's theme: ansi, or a "
                                                 "Textual theme name.")
    # Remote questionnaires (planwise.remote.practice, docs/remote.md).
    practice: Text | None = Field(None, description="The practice's name, shown on the "
                                                    "questionnaire pages clients receive.")
    crisis_contacts: list[Text] = Field(default_factory=list, max_length=20,
                                        description="Crisis contacts shown on a remote "
                                                    "questionnaire when an answer signals "
                                                    "risk, one line each.")
    key_passphrase_file: Text | None = Field(None, description="A file whose first line "
                                                               "protects the practice's "
                                                               "private key.")
