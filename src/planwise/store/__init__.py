"""planwise's store: clients, intakes, plans, signatures and the audit log in SQLite.

Never imports Textual or durable-rules. Open once with `Store(path)` (checks the
file, applies migrations), then `store.connect()` once per thread.
"""

from planwise.store.db import APP_ID, SCHEMA_VERSION, Conn, Store, default_db_path

__all__ = ["APP_ID", "SCHEMA_VERSION", "Conn", "Store", "default_db_path"]
