"""Encryption at rest: the same caseload plain and encrypted (SQLCipher), side by side.

    .venv/bin/python benchmarks/encryption.py [--clients 2000] [--versions 4000]
        [--sessions 20000] [--rounds 100]

Builds one caseload with benchmarks/store.py's builder, copies it and encrypts the
copy (`planwise db encrypt`'s conversion), then times through the store's API on both
files, alternating plain and encrypted call by call so that the machine's noise
falls on both alike:

- key derivation (PBKDF2-HMAC-SHA512, 256,000 iterations: once per start)
- open: `Store(path)` + `connect()` (the key already derived)
- client search, plan load, plan save (in memory, as the interface saves), session add
- verify: `planwise verify` on the whole file, 3 runs
- the interface's cold start to the first interactive caseload (a new process each
  run; the encrypted one reads its passphrase from PLANWISE_PASSPHRASE_FILE, so the
  key derivation is in it)

Prints median and p95 in ms for each, plain | encrypted | overhead. No asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "benchmark passphrase, not a secret"

COLD_START = """
import sys
from pathlib import Path
from planwise.store import keys
keys.prefetch(Path(sys.argv[1]))  # as planwise.tui.run does, before the interface's imports
from planwise.tui.app import PlanwiseApp
from planwise.tui.services import Services

class StopWhenReady(PlanwiseApp):
    def on_caseload_loaded(self, message):
        self.call_after_refresh(self.exit)

services = Services.open(Path(sys.argv[1]))
StopWhenReady(services).run(headless=True)
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def row(name: str, plain: list[float], enc: list[float], unit: str = "ms") -> None:
    mp, me = statistics.median(plain), statistics.median(enc)
    print(f"{name:<22} {mp:9.2f} {pct(plain, 95):9.2f} | {me:9.2f} {pct(enc, 95):9.2f} | "
          f"{(me - mp):+9.2f} {unit} ({(me / mp - 1) * 100 if mp else 0:+6.1f}%)  n={len(plain)}")


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def alternate(plain: Callable[[int], Any], enc: Callable[[int], Any], n: int
              ) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    for i in range(n):
        first, second = ((enc, b), (plain, a)) if i % 2 else ((plain, a), (enc, b))
        for fn, out in (first, second):
            out.append(timed(partial(fn, i)))
    return a, b


def cold_start(db: Path, env: dict[str, str], prefetch: bool = True) -> float:
    script = COLD_START if prefetch else COLD_START.replace("keys.prefetch(", "(")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, str(db)], check=True, env=env,
                   capture_output=True, timeout=120)
    return (time.perf_counter() - t) * 1000


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=2_000)
    ap.add_argument("--versions", type=int, default=4_000)
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--starts", type=int, default=5, help="Cold starts of the interface.")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from store import build  # benchmarks/store.py's caseload

    from planwise.store import Store, clients, crypto, keys, plans, sessions
    from planwise.store.convert import in_place
    from planwise.store.verify import verify

    os.environ["PLANWISE_NO_KEYRING"] = "1"
    os.environ.pop("PLANWISE_PASSPHRASE_FILE", None)
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain_db, enc_db = folder / "plain.db", folder / "encrypted.db"
        print(f"building {args.clients} clients, {args.versions} plan versions, "
              f"{args.sessions} sessions")
        build(plain_db, args.clients, args.versions, args.sessions, rng)
        Store(plain_db)
        shutil.copy(plain_db, enc_db)
        t = time.perf_counter()
        key = crypto.new_key(PASSPHRASE)
        in_place(enc_db, None, key)
        keys.remember(enc_db, key)
        print(f"encrypted a copy in {time.perf_counter() - t:.1f} s "
              f"({plain_db.stat().st_size / 1e6:.0f} MB plain, "
              f"{enc_db.stat().st_size / 1e6:.0f} MB encrypted)\n")
        print(f"{'':22} {'plain':>9} {'p95':>9} | {'encrypted':>9} {'p95':>9} | overhead "
              "(median)")

        salt = crypto.file_salt(enc_db)
        derive = [timed(lambda: crypto.derive(PASSPHRASE, salt)) for _ in range(5)]
        print(f"{'key derivation':<22} {'':>9} {'':>9} | {statistics.median(derive):9.2f} "
              f"{max(derive):9.2f} | once per start, n=5")

        def open_store(path: Path) -> Callable[[int], Any]:
            return lambda _i: Store(path).connect().close()
        row("open", *alternate(open_store(plain_db), open_store(enc_db), 20))

        cp, ce = Store(plain_db).connect(), Store(enc_db).connect()
        names = [r["name"].split()[1][:4] for r in cp.query(
            "SELECT name FROM clients ORDER BY random() LIMIT ?", [args.rounds])]
        row("client search", *alternate(lambda i: clients.list_clients(cp, names[i]),
                                         lambda i: clients.list_clients(ce, names[i]),
                                         len(names)))
        pids = [r["id"] for r in cp.query("SELECT id FROM plans ORDER BY random() LIMIT ?",
                                          [args.rounds])]
        row("plan load", *alternate(lambda i: plans.load_doc_for(cp, pids[i]),
                                     lambda i: plans.load_doc_for(ce, pids[i]), len(pids)))
        drafts = [r["plan_id"] for r in cp.query(
            "SELECT plan_id FROM plan_version_state s WHERE state = 'draft' AND version = "
            "(SELECT max(version) FROM plan_versions v WHERE v.plan_id = s.plan_id) "
            "ORDER BY random() LIMIT ?", [args.rounds])]

        def save(c: Any) -> Callable[[int], Any]:
            def go(i: int) -> None:
                doc = plans.load_doc_for(c, drafts[i])
                doc.problems[0].goals[0].objectives[0].measure = f"PHQ-9 below {i % 10 + 5}"
                plans.save_doc(c, drafts[i], doc)
            return go
        row("plan save", *alternate(save(cp), save(ce), len(drafts)))

        from planwise.dates import today

        def add(c: Any) -> Callable[[int], Any]:
            def go(i: int) -> None:
                key_row = c.one("SELECT i.key FROM plan_items i JOIN plan_versions v ON v.id "
                                "= i.version_id WHERE v.plan_id = ? AND i.kind = 'objective' "
                                "ORDER BY v.version DESC, i.position LIMIT 1", [pids[i]])
                sessions.add_session(c, pids[i], today().isoformat(), [f"{key_row['key']}:5"],
                                     "Benchmark session: reviewed homework.")
            return go
        row("session add", *alternate(add(cp), add(ce), len(pids)))
        row("verify", *alternate(lambda _i: verify(cp.raw), lambda _i: verify(ce.raw), 3))
        cp.close()
        ce.close()

        secret = folder / "pass"
        secret.write_text(PASSPHRASE + "\n")
        secret.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env_enc = {**env, "PLANWISE_PASSPHRASE_FILE": str(secret)}
        cold_start(plain_db, env)  # bytecode and the knowledge cache, once
        cold_start(enc_db, env_enc)
        row("interface cold start", *alternate(lambda _i: cold_start(plain_db, env),
                                                lambda _i: cold_start(enc_db, env_enc),
                                                args.starts))
        # The key derived beside the interface's imports (keys.prefetch) or before them.
        after, beside = alternate(lambda _i: cold_start(enc_db, env_enc, prefetch=False),
                                  lambda _i: cold_start(enc_db, env_enc), args.starts)
        print(f"{'':22} encrypted, key derived before the imports {statistics.median(after):.0f}"
              f" ms, beside them {statistics.median(beside):.0f} ms (medians, n={args.starts})")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
