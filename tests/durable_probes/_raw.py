"""Helpers for the raw durable-rules probes: a quiet Host and a synchronous run.

Each probe is a script run in its own subprocess by tests/test_durable_guards.py,
so that a segfault, a MemoryError or a hang fails one test instead of pytest.
Probes print one JSON object on their last line of stdout.
"""

from __future__ import annotations

import json
import sys

import durable_rules_engine
from durable import engine


class QuietHost(engine.Host):
    def _run(self) -> None:
        pass


def register(host: engine.Host, name: str, rules: dict) -> engine.Ruleset:
    host.register_rulesets({name: rules})
    return host.get_ruleset(name)


def run_batch(ruleset: engine.Ruleset, facts: list[dict]) -> tuple[int, list]:
    """assert_facts then do_actions, as planwise does; returns (code, errors)."""
    code, offset = durable_rules_engine.assert_facts(ruleset._handle, json.dumps(facts))
    done: list = []
    ruleset.do_actions(offset, lambda e, _s: done.append(e))
    return code, done


def report(**values) -> None:
    print(json.dumps(values, default=repr))
    sys.stdout.flush()
