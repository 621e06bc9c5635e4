"""The project database: connection with our pragmas, transactions, migrations."""

from qcode.store.connection import connect, transaction
from qcode.store.migrations import MIGRATIONS, migrate, schema_version

__all__ = ["MIGRATIONS", "connect", "migrate", "schema_version", "transaction"]
