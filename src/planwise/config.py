"""The user's settings and the order that settles each one: the command line, then the
environment, then the config file, then the default.

The config file is `config.toml` in the user config folder (`~/.config/planwise/` on
Linux; PLANWISE_CONFIG_DIR moves the folder, PLANWISE_CONFIG or `--config` names
another file):

    database = "~/clinic/planwise.db"          # PLANWISE_DB, --db
    profile = "~/clinic/me.toml"               # PLANWISE_PROFILE, --profile
    knowledge = ["~/clinic/knowledge"]         # PLANWISE_KNOWLEDGE, --knowledge
    theme = "ansi"                             # PLANWISE_THEME, --theme (the interface)

`~` is the home folder; a relative path is relative to the config file's folder (the
file is read from anywhere). An unknown key, a wrong type, a knowledge folder that is
not there, a profile that is not a file: exit 2 naming the file, the key and the line.
Nothing here imports the store or Textual (a command's --help reads nothing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planwise.errors import InputError

if TYPE_CHECKING:  # pydantic is imported when a file is read: `planwise --help` stays fast
    from pydantic import ValidationError

CONFIG_NAME = "config.toml"
MAX_CONFIG_BYTES = 64 << 10  # four settings; a bigger file is not a config file

@dataclass(frozen=True)
class Origin:
    """Where a setting came from, so that a bad value is named where it can be fixed."""

    file: str | None = None
    field: str | None = None
    line: int | None = None

    def error(self, message: str) -> InputError:
        return InputError(message, file=self.file, field=self.field, line=self.line)

    def describe(self) -> str:
        """For `planwise config`, which names the config file on a line of its own."""
        if self.file:
            return "config file" + (f", line {self.line}" if self.line else "")
        return self.field or "the default"


@dataclass(frozen=True)
class Chosen:
    """One setting's value and where it came from."""

    value: str
    origin: Origin


@dataclass(frozen=True)
class Config:
    """The config file as read: paths made absolute, each key's line kept."""

    path: Path | None  # None: there is no config file
    database: Path | None = None
    profile: Path | None = None
    knowledge: tuple[Path, ...] = ()
    theme: str | None = None
    lines: dict[str, int] = field(default_factory=dict)

    def origin(self, key: str) -> Origin:
        return Origin(str(self.path) if self.path else None, key, self.lines.get(key))


def config_file_path(explicit: str | None = None) -> tuple[Path, bool]:
    """The config file to read and whether it was named (`--config`, PLANWISE_CONFIG):
    a named file must exist, the default one may not."""
    from planwise.paths import config_dir

    if explicit:
        return Path(explicit), True
    env = os.environ.get("PLANWISE_CONFIG")
    if env:
        return Path(env), True
    return config_dir() / CONFIG_NAME, False


def load_config(explicit: str | None = None) -> Config:
    """The config file (empty when the default one does not exist)."""
    path, named = config_file_path(explicit)
    if not named and not path.exists():
        return Config(path=None)
    # Only now: most runs have no config file, and pydantic's model classes cost a cold
    # command tens of milliseconds (issue 12).
    from pydantic import ValidationError

    from planwise.models.config import ConfigFile
    from planwise.text import has_unsafe
    from planwise.tomlfile import parse_toml, read_text

    name = str(path)
    text = read_text(path, MAX_CONFIG_BYTES)
    data = parse_toml(text, name)
    lines = {key: n for key in ConfigFile.model_fields
             if (n := _key_line(text, key)) is not None}
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, text, name) from None
    base = path.resolve().parent

    def where(key: str) -> Origin:
        return Origin(name, key, lines.get(key))

    for key in ("database", "profile", "theme"):
        value = getattr(parsed, key)
        if value is not None and has_unsafe(value):
            raise where(key).error("holds a control character")
    folders = []
    for n, folder in enumerate(parsed.knowledge):
        # An array may span lines: the line that holds this folder, else the key's.
        at = Origin(name, f"knowledge[{n}]",
                    _value_line(text, lines.get("knowledge"), folder) or lines.get("knowledge"))
        if has_unsafe(folder):
            raise at.error("holds a control character")
        resolved = _path(folder, base)
        if not resolved.is_dir():
            raise at.error(f"knowledge folder not found: {resolved}")
        folders.append(resolved)
    return Config(path=path, database=_path(parsed.database, base) if parsed.database else None,
                  profile=_path(parsed.profile, base) if parsed.profile else None,
                  knowledge=tuple(folders), theme=parsed.theme, lines=lines)


def _path(text: str, base: Path) -> Path:
    p = Path(text).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else base / p))


def _key_line(text: str, key: str) -> int | None:
    """The line that sets a top-level key (the file has no tables)."""
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith("["):  # a table: later keys are not top-level
            return None
        name = stripped.split("=", 1)[0].strip().strip("\"'")
        if "=" in stripped and name == key:
            return n
    return None


def _line_of(text: str, key: str) -> int | None:
    """The line of a top-level key, or of a table header of that name (`[database]`)."""
    found = _key_line(text, key)
    if found is not None:
        return found
    for n, line in enumerate(text.splitlines(), 1):
        header = line.strip().strip("[]").strip().split(".")[0].strip("\"'")
        if line.lstrip().startswith("[") and header == key:
            return n
    return None


def _value_line(text: str, start: int | None, value: str) -> int | None:
    if start is None:
        return None
    for n, line in enumerate(text.splitlines()[start - 1:], start):
        if f'"{value}"' in line or f"'{value}'" in line:
            return n
    return None


def _invalid(exc: ValidationError, text: str, name: str) -> InputError:
    from planwise.models.config import ConfigFile
    from planwise.text import excerpt, field_key

    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = err["loc"]
    key = field_key(str(loc[0])) if loc else ""
    path = key + "".join(f"[{p}]" for p in loc[1:] if isinstance(p, int))
    if err["type"] == "extra_forbidden":
        msg = (f"unknown setting (the settings are {', '.join(ConfigFile.model_fields)}; "
               "a misspelt one would be ignored, so it is refused)")
    else:
        msg = err["msg"]
        if "input" in err:
            msg = f"{msg} (got {excerpt(err['input'])})"
    line = _line_of(text, str(loc[0])) if loc else None
    return InputError(msg, file=name, field=path or None, line=line)


@dataclass
class Settings:
    """What the command line gave; the rest is looked up when first asked for, so that
    `--help` reads no file. Each setting is settled command line > environment > config
    file > default, and says where it came from (`planwise config`)."""

    db: str | None = None
    profile: str | None = None
    knowledge: tuple[str, ...] = ()
    theme: str | None = None
    config: str | None = None
    _file: Config | None = None

    def config_file(self) -> Config:
        if self._file is None:
            self._file = load_config(self.config)
        return self._file

    def database(self) -> Chosen:
        if self.db:
            return Chosen(self.db, Origin(field="--db"))
        env = os.environ.get("PLANWISE_DB")
        if env:
            return Chosen(env, Origin(field="PLANWISE_DB"))
        cfg = self.config_file()
        if cfg.database is not None:
            return Chosen(str(cfg.database), cfg.origin("database"))
        from platformdirs import user_data_dir

        return Chosen(str(Path(user_data_dir("planwise")) / "planwise.db"), Origin())

    def db_path(self) -> Path:
        return Path(self.database().value)

    def profile_choice(self) -> Chosen | None:
        """The profile to load, or None for none. PLANWISE_PROFILE naming a file that does
        not exist means no profile (as it did before the config file); a profile the
        config file names must exist."""
        if self.profile:
            return Chosen(self.profile, Origin(field="--profile"))
        env = os.environ.get("PLANWISE_PROFILE")
        if env:
            return Chosen(env, Origin(field="PLANWISE_PROFILE")) if Path(env).is_file() else None
        cfg = self.config_file()
        if cfg.profile is not None:
            if not cfg.profile.is_file():
                raise cfg.origin("profile").error(f"profile not found: {cfg.profile}")
            return Chosen(str(cfg.profile), cfg.origin("profile"))
        from planwise.paths import config_dir

        default = config_dir() / "profile.toml"
        return Chosen(str(default), Origin()) if default.is_file() else None

    def profile_path(self) -> str | None:
        chosen = self.profile_choice()
        return chosen.value if chosen else None

    def knowledge_choice(self) -> tuple[tuple[str, ...], Origin]:
        """The clinic folders: those on the command line, else PLANWISE_KNOWLEDGE (folders
        separated by the path separator, `:` on Linux), else the config file's."""
        if self.knowledge:
            return self.knowledge, Origin(field="--knowledge")
        env = os.environ.get("PLANWISE_KNOWLEDGE")
        if env:
            return tuple(d for d in env.split(os.pathsep) if d), Origin(field="PLANWISE_KNOWLEDGE")
        cfg = self.config_file()
        if cfg.knowledge:
            return tuple(str(p) for p in cfg.knowledge), cfg.origin("knowledge")
        return (), Origin()

    def knowledge_dirs(self) -> tuple[str, ...]:
        return self.knowledge_choice()[0]

    def theme_choice(self) -> Chosen | None:
        if self.theme:
            return Chosen(self.theme, Origin(field="--theme"))
        env = os.environ.get("PLANWISE_THEME")
        if env:
            return Chosen(env, Origin(field="PLANWISE_THEME"))
        cfg = self.config_file()
        if cfg.theme:
            return Chosen(cfg.theme, cfg.origin("theme"))
        return None
