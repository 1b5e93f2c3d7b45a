"""Options given before the command (`planwise --db PATH client list`), honoured by every
command that uses them and refused, by name, by every command that does not.

A command uses a setting when it or its group has the setting's parameter (`db_path`,
`profile_path`, `knowledge_dirs`), or declares it with `uses(...)`. `install(cli)` wraps
each command's callback once: a value the command's own option left unset is filled
from the settings (command line, then environment, then config file, then default:
planwise.config), and a global option the command cannot use is refused before it runs.
The older spellings (`planwise client --db PATH list`, `planwise review P1 --db PATH`,
`planwise recommend --profile P`) keep working; the same option given in two places with
two different values is refused rather than one of them silently winning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from planwise.config import Settings
from planwise.errors import InputError

_KEY = "planwise.settings"
# Setting -> the parameter name every command uses for it.
PARAMS = {"db": "db_path", "profile": "profile_path", "knowledge": "knowledge_dirs"}
WHAT = {"db": "a database", "profile": "a therapist profile", "knowledge": "the knowledge",
        "theme": "the interface's theme"}
GLOBAL_NAMES = ("db", "profile", "knowledge", "theme")

F = TypeVar("F", bound=Callable[..., Any])


def settings(ctx: click.Context) -> Settings:
    """The settings of this run: made by the top-level group, or (a command invoked on
    its own, as tests do) from the environment and the config file alone."""
    meta = ctx.meta  # shared by every context of one invocation
    found = meta.get(_KEY)
    if found is None:
        found = meta[_KEY] = Settings()
    assert isinstance(found, Settings)
    return found


def start(ctx: click.Context, **given: Any) -> Settings:
    """Record what the top-level options gave (nothing is read yet)."""
    s = Settings(db=given.get("db"), profile=given.get("profile"),
                 knowledge=tuple(given.get("knowledge") or ()), theme=given.get("theme"),
                 config=given.get("config"))
    ctx.meta[_KEY] = s
    return s


def uses(*names: str) -> Callable[[F], F]:
    """Declare settings a command reads itself (rather than through a parameter)."""
    def mark(cmd: F) -> F:
        cmd.planwise_uses = frozenset(names)  # type: ignore[attr-defined]
        return cmd
    return mark


def used_by(cmd: click.Command, parents: tuple[click.Command, ...]) -> frozenset[str]:
    names: set[str] = set()
    for c in (*parents, cmd):
        params = {p.name for p in c.params}
        names |= {k for k, p in PARAMS.items() if p in params}
        names |= set(getattr(c, "planwise_uses", ()))
        names |= set(getattr(c.callback, "planwise_uses", ()))
    return frozenset(names)


def install(root: click.Group) -> None:
    """Wrap every command under `root` (once)."""
    def walk(cmd: click.Command, parents: tuple[click.Command, ...], path: str) -> None:
        if not getattr(cmd, "_planwise_wrapped", False) and cmd.callback is not None:
            leaf = not isinstance(cmd, click.Group)
            cmd.callback = _wrap(cmd, cmd.callback, used_by(cmd, parents) if leaf else None,
                                 path)
            cmd._planwise_wrapped = True  # type: ignore[attr-defined]
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, (*parents, cmd), f"{path} {name}".strip())

    for name, sub in root.commands.items():
        walk(sub, (), name)


def _wrap(cmd: click.Command, inner: Callable[..., Any], leaf_uses: frozenset[str] | None,
          path: str) -> Callable[..., Any]:
    @functools.wraps(inner)
    def callback(*args: Any, **kwargs: Any) -> Any:
        if leaf_uses is None:
            # A group runs before its command's --help is seen: it settles nothing (no file
            # is read for --help); its own --db waits in ctx.obj for the command.
            return inner(*args, **kwargs)
        ctx = click.get_current_context()
        s = settings(ctx)
        refuse_unused(s, leaf_uses, path)
        s.config_file()  # a broken config file is reported by every command
        _fill(ctx, s, kwargs)
        if "db" in leaf_uses and "db_path" not in kwargs:  # --db on the group, or none
            obj = ctx.ensure_object(dict)
            own = obj.get("db_path")
            _same("db", own, s.db)
            obj["db_path"] = own or str(s.db_path())
        return inner(*args, **kwargs)

    return callback


def refuse_unused(s: Settings, used: frozenset[str], path: str) -> None:
    given = {"db": s.db, "profile": s.profile, "knowledge": s.knowledge, "theme": s.theme}
    for name in GLOBAL_NAMES:
        if given[name] and name not in used:
            hint = (" (the demo uses a temporary database of its own)"
                    if (name, path) == ("db", "demo") else "")
            raise InputError(f"`planwise {path}` does not use {WHAT[name]}{hint}: "
                             f"remove --{name}, or give it to a command that uses it",
                             field=f"--{name}")


def _given_here(ctx: click.Context, param: str) -> bool:
    return ctx.get_parameter_source(param) == ParameterSource.COMMANDLINE


def _fill(ctx: click.Context, s: Settings, kwargs: dict[str, Any]) -> None:
    """Each setting this command takes as a parameter: its own option if given (checked
    against the top-level one), else the settled value."""
    if "db_path" in kwargs:
        own = kwargs["db_path"] if _given_here(ctx, "db_path") else None
        _same("db", own, s.db)
        kwargs["db_path"] = own or str(s.db_path())
    if "profile_path" in kwargs:
        own = kwargs["profile_path"] if _given_here(ctx, "profile_path") else None
        _same("profile", own, s.profile)
        kwargs["profile_path"] = own or s.profile_path()
    if "knowledge_dirs" in kwargs:
        own = tuple(kwargs["knowledge_dirs"] or ()) if _given_here(ctx, "knowledge_dirs") else ()
        # Both are the command line: the top-level folders first, then the command's.
        kwargs["knowledge_dirs"] = (*s.knowledge, *own) if (s.knowledge or own) \
            else s.knowledge_dirs()


def _same(name: str, own: str | None, top: str | None) -> None:
    from pathlib import Path

    if own and top and Path(own).expanduser().resolve() != Path(top).expanduser().resolve():
        raise InputError(f"given twice with different values, before the command and after "
                         f"it: give --{name} once, before the command "
                         f"(`planwise --{name} PATH ...`)", field=f"--{name}")
