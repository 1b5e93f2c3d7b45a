"""The practice's settings for remote questionnaires, from the config file:

    practice = "Example Counselling"
    crisis_contacts = ["Emergency: 112", "Samaritans (UK/IE): 116 123, any hour"]
    key_passphrase_file = "~/.config/planwise/key-passphrase"

Without `crisis_contacts` the page shows DEFAULT_CONTACTS, which only say to call the
local emergency number: docs/remote.md tells the practice to set its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_PRACTICE = "Your therapist's practice"
DEFAULT_CONTACTS = (
    "If you are in danger now, call your local emergency number (112 in Europe, 911 in "
    "North America, 999 in the UK) or go to the nearest emergency department.",
    "Contact your therapist's practice as soon as you can and tell them how you feel.",
)


@dataclass(frozen=True)
class Practice:
    name: str = DEFAULT_PRACTICE
    crisis_contacts: tuple[str, ...] = DEFAULT_CONTACTS
    contacts_configured: bool = False
    key_passphrase_file: str | None = None


def load_practice() -> Practice:
    from planwise.config import config_file_path
    from planwise.models.config import ConfigFile
    from planwise.tomlfile import parse_toml, read_text

    path, named = config_file_path(None)
    if not named and not path.exists():
        return Practice()
    from pydantic import ValidationError

    from planwise.config import MAX_CONFIG_BYTES, _invalid

    text = read_text(path, MAX_CONFIG_BYTES)
    try:
        parsed = ConfigFile.model_validate(parse_toml(text, str(path)))
    except ValidationError as exc:
        raise _invalid(exc, text, str(path)) from None
    passfile = None
    if parsed.key_passphrase_file:
        p = Path(parsed.key_passphrase_file).expanduser()
        passfile = str(p if p.is_absolute() else path.resolve().parent / p)
    contacts = tuple(c.strip() for c in parsed.crisis_contacts if c.strip())
    return Practice(name=(parsed.practice or DEFAULT_PRACTICE).strip() or DEFAULT_PRACTICE,
                    crisis_contacts=contacts or DEFAULT_CONTACTS,
                    contacts_configured=bool(contacts), key_passphrase_file=passfile)
