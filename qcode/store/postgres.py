"""A project on a PostgreSQL server: the connection, and the SQL the core writes for SQLite
made to mean the same there.

The core writes one SQL, SQLite's (``?`` parameters, ``INSERT OR IGNORE``, ``json_each``,
``group_concat``, ``lastrowid``...). Rather than fork every query, :class:`PgConnection`
wraps a psycopg 3 connection behind the part of ``sqlite3.Connection`` the core uses
(``execute``, ``executemany``, ``in_transaction``, cursors with ``lastrowid``) and
rewrites each statement once (cached) into PostgreSQL's spelling. What has no faithful
rewrite (``PRAGMA``, ``sqlite_master``: file-level SQLite features) raises
:class:`NotOnPostgres` rather than doing something else.

Transactions: ``BEGIN`` then ``pg_advisory_xact_lock`` on the project's lock, the
equivalent of SQLite's ``BEGIN IMMEDIATE``: one writer at a time, taken up front, so no
two coders both read then both write (no lost update), readers never blocked. (A later
step may trade it for SERIALIZABLE with retries where more write concurrency pays.)

Credentials never come from qcode: the URL names the host and database only, and libpq
takes the user, password and TLS settings from the PG* environment variables, a pgpass
file or a service file. Off this machine the connection must be encrypted: TLS is
required (``sslmode=require`` at least), and a setting that would allow it in clear is
refused (:func:`tls_mode`).
"""

from __future__ import annotations

import re
import urllib.parse
from functools import lru_cache
from typing import Any

from qcode.errors import StoreError

SCHEMES = ("postgresql://", "postgres://")
LOCK_TIMEOUT_MS = 5000  # as long as SQLite's busy timeout
PROJECT_LOCK = 0x71636F6465  # "qcode": the advisory lock every write transaction takes

# tables whose rows get their id from the database (an INSERT returns it as lastrowid)
ID_TABLES = frozenset({
    "documents", "revisions", "speakers", "segments", "codebook_versions", "codes",
    "coders", "runs", "codings", "memos", "suggestions", "changes", "models"})


class NotOnPostgres(StoreError):
    """A command or feature that a project on PostgreSQL does not offer (yet)."""

    def __init__(self, what: str, instead: str = "") -> None:
        super().__init__(f"not yet available on PostgreSQL: {what}"
                         + (f"; {instead}" if instead else ""))


def is_url(text: str | None) -> bool:
    return bool(text) and text.lower().startswith(SCHEMES)


def check_url(url: str) -> str:
    """*url* if it is a postgresql:// URL that holds no credentials; else a StoreError
    saying where they belong. Returns it normalised (no user, no password)."""
    if not is_url(url):
        raise StoreError(f"{_without_credentials(url)!r}: not a PostgreSQL URL; expected "
                         "postgresql://HOST/DATABASE")
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if parts.password is not None or "password" in query:
        raise StoreError("the database URL holds a password; qcode keeps none in qcode.yaml "
                         "or on the command line. Remove it from the URL and give it in a "
                         "pgpass file (~/.pgpass), a service file or $PGPASSWORD")
    if "@" in parts.netloc:
        raise StoreError("the database URL names a user; give it in $PGUSER, a service "
                         "file or pgpass instead, so qcode.yaml holds no credentials: "
                         f"postgresql://{parts.netloc.rsplit('@', 1)[1]}{parts.path}")
    if not parts.path.strip("/") and "dbname" not in query and "service" not in query:
        raise StoreError(f"{url}: names no database; expected postgresql://HOST/DATABASE")
    return url


def _without_credentials(text: str) -> str:
    """*text* (any URL, or not one) without what comes before an '@': a refused URL's
    user and password are not repeated in the message."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}"  # a password may hold a '/'"


def redact(url: str) -> str:
    """*url* without any user or password, for messages."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}"


def driver():
    try:
        import psycopg
    except ImportError:
        raise StoreError("this project is on PostgreSQL, which needs psycopg: pip install "
                         "'qcode[postgresql]'") from None
    return psycopg


APPLICATION = "qcode"  # each connection's application_name: "qcode CODER"


def connect_url(url: str, coder: str | None = None):
    """A :class:`~qcode.store.connection.Database` on the server and database *url* names;
    *coder* (the project's coder for this command) is how `qcode coders` names it."""
    from qcode.store.connection import Database

    check_url(url)
    psycopg = driver()
    host, sslmode = url_target(url)
    tls = {"sslmode": mode} if (mode := tls_mode(host, sslmode)) else {}
    name = f"{APPLICATION} {coder}" if coder else APPLICATION
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10,
                              application_name=name.encode()[:63].decode(errors="ignore"),
                              **tls)
    except psycopg.Error as exc:
        raise StoreError(f"{redact(url)}: cannot connect: {_first_line(exc)}") from None
    if not is_local_host(raw.info.host) and not raw.pgconn.ssl_in_use:
        raw.close()  # a host named only in a service file, reached without TLS
        raise StoreError(_tls_refusal(raw.info.host, sslmode or "prefer"))
    _numbers_as_python(raw)
    from psycopg.types.numeric import Int8Dumper

    # every Python int a BIGINT, as SQLite's integers are 64-bit: a parameter typed int2
    # would fix the type of a recursive query's column, or overflow in arithmetic
    raw.adapters.register_dumper(int, Int8Dumper)
    raw.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    return Database(PgConnection(raw), dialect=POSTGRES)


# -- TLS off this machine ---------------------------------------------------------------

WEAK_SSLMODES = ("disable", "allow", "prefer")  # may send the session (and password) in clear


def is_local_host(host: str | None) -> bool:
    """*host* (one libpq host, or a comma-separated list of them) is this machine: none
    (libpq's default Unix socket), a socket directory (a path, or an abstract socket
    '@name'), localhost, or a loopback address (127.0.0.0/8, ::1)."""
    import ipaddress

    for one in (host or "").split(","):
        one = one.strip().strip("[]")
        if not one or one.startswith(("/", "@")) or one.lower() == "localhost":
            continue
        try:
            if ipaddress.ip_address(one).is_loopback:
                continue
        except ValueError:
            pass
        return False
    return True


def tls_mode(host: str | None, sslmode: str | None) -> str | None:
    """The sslmode to connect to *host* with, given the one the user asked for (the URL's,
    else $PGSSLMODE; None: none): on this machine, theirs unchanged; off it, TLS is
    required (``require`` unless they asked for ``verify-ca`` or ``verify-full``), and a
    mode that lets the connection go without it is refused with a StoreError saying how
    to fix it."""
    if is_local_host(host):
        return sslmode
    if sslmode is None:
        return "require"
    if sslmode.lower() in WEAK_SSLMODES:
        raise StoreError(_tls_refusal(host, sslmode))
    return sslmode


def _tls_refusal(host: str | None, sslmode: str) -> str:
    return (f"sslmode={sslmode} would let the connection to {host} go unencrypted; qcode "
            "requires TLS off this machine: use sslmode=require, or verify-full to check "
            "the server's certificate (in the URL, $PGSSLMODE or the service file)")


def url_target(url: str, environ=None) -> tuple[str | None, str | None]:
    """(the host or hosts, the sslmode asked for) of *url*, as libpq takes them: the
    URL's (host=, hostaddr=, sslmode= among its parameters too), else $PGHOST /
    $PGHOSTADDR and $PGSSLMODE. A host that only a service file names is unknown here
    (None); connect_url checks that connection once made."""
    import os

    from psycopg.conninfo import conninfo_to_dict

    environ = os.environ if environ is None else environ
    params = conninfo_to_dict(url)
    # libpq uses both: the address to reach, the name to check; remote if either is
    hosts = [params.get(key) or environ.get(f"PG{key.upper()}") for key in ("host", "hostaddr")]
    host = ",".join(h for h in hosts if h) or None
    sslmode = params.get("sslmode") or environ.get("PGSSLMODE") or None
    return host, sslmode


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _numbers_as_python(raw) -> None:
    """sum() and avg() of integers are NUMERIC on PostgreSQL, Decimal in Python; SQLite
    gives int or float, and the core computes with those."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data):
            text = bytes(data).decode()
            value = float(text)
            return int(text) if value.is_integer() and "." not in text else value

    raw.adapters.register_loader("numeric", NumericLoader)


class PgCursor:
    """The part of sqlite3.Cursor the core uses, over a psycopg cursor."""

    def __init__(self, cursor, returning_id: bool) -> None:
        self._cursor = cursor
        self.lastrowid = None
        if returning_id:
            row = cursor.fetchone() if cursor.description else None
            self.lastrowid = row[0] if row else None

    @property
    def description(self):
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self):
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self):
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1):
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self):
        return iter(self._cursor) if self._cursor.description else iter(())

    def close(self) -> None:
        self._cursor.close()


class PgConnection:
    """A psycopg 3 connection (autocommit: qcode issues BEGIN itself) that takes SQLite's
    SQL (see the module's doc)."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.total_changes = 0  # rows inserted, updated or deleted, as sqlite3 counts them

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Any = None, *, binary: bool = False) -> PgCursor:
        """*binary*: results in PostgreSQL's binary format (bytea as it is, not hex text:
        a third of the time for the analyses' megabytes of indexes; qcode.store.words)."""
        statement, returning_id = translate(sql, parameters is not None)
        cursor = self.raw.cursor()
        try:
            cursor.execute(statement, _params(parameters), binary=binary)
        except driver().DataError as exc:
            raise _data_error(exc) from exc
        self._count(cursor)
        return PgCursor(cursor, returning_id)

    def executemany(self, sql: str, rows) -> PgCursor:
        statement, _ = translate(sql, True, returning=False)
        cursor = self.raw.cursor()
        try:
            cursor.executemany(statement, [_params(row) for row in rows])
        except driver().DataError as exc:
            raise _data_error(exc) from exc
        self._count(cursor)
        return PgCursor(cursor, False)

    def _count(self, cursor) -> None:
        status = (cursor.statusmessage or "").split(" ", 1)[0]
        if status in ("INSERT", "UPDATE", "DELETE") and cursor.rowcount > 0:
            self.total_changes += cursor.rowcount

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, kind, *_exc) -> None:  # as sqlite3's: end an open transaction
        if self.in_transaction:
            self.raw.execute("ROLLBACK" if kind else "COMMIT")

    def backup(self, *_args, **_kwargs):
        raise NotOnPostgres("copying the database file", "`qcode backup` writes a checked "
                            "snapshot of the server project; back the server up with pg_dump")


def _data_error(exc: Exception) -> Exception:
    """A value PostgreSQL cannot hold, said plainly (the transaction is rolled back)."""
    if "NUL" in str(exc):
        return StoreError("PostgreSQL cannot store the NUL character (\\0) that this text "
                          "holds; remove it and try again")
    return StoreError(f"the server refused a value: {_first_line(exc)}")


def _params(parameters):
    if parameters is None or isinstance(parameters, dict):
        return parameters
    return list(parameters)


# -- SQLite's SQL in PostgreSQL's spelling -------------------------------------------------

_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\?|%|[^'"?%]+""", re.S)
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+\"?(\w+)\"?", re.I)
_JSON_EACH = re.compile(r"SELECT\s+value\s+FROM\s+json_each\(\s*(\?|%s)\s*\)", re.I)
_DROP_TRIGGER = re.compile(r"^\s*DROP\s+TRIGGER\s+(IF\s+EXISTS\s+)?(\w+)\s*;?\s*$", re.I)
_REFUSED = re.compile(r"^\s*PRAGMA\b|\bsqlite_(master|schema|sequence)\b|\bjson_each\b",
                      re.I)


@lru_cache(maxsize=2048)
def translate(sql: str, with_parameters: bool, returning: bool = True) -> tuple[str, bool]:
    """(*sql* as PostgreSQL takes it, whether an id is returned for ``lastrowid``)."""
    out = sql
    if with_parameters:
        # psycopg's placeholders are %s, so a literal % is %%; quoted text is left alone
        # for ? but not for % (psycopg reads the whole statement)
        out = "".join("%s" if tok == "?" else "%%" if tok == "%" else
                      tok.replace("%", "%%") if tok[0] == "'" else tok
                      for tok in _TOKEN.findall(out))
    out = _JSON_EACH.sub(r"SELECT value::bigint FROM json_array_elements_text(\1::json)", out)
    match = _REFUSED.search(out)
    if match:
        raise NotOnPostgres(f"the SQLite statement {match.group(0).strip()}")
    out = _functions(out)
    drop = _DROP_TRIGGER.match(out)
    if drop:  # PostgreSQL's DROP TRIGGER names the table; SQLite's names are unique
        name = drop.group(2)
        return (f"DO $$ DECLARE target regclass; BEGIN SELECT tgrelid::regclass INTO target "
                f"FROM pg_trigger WHERE tgname = '{name}' AND NOT tgisinternal; IF target IS "
                f"NOT NULL THEN EXECUTE format('DROP TRIGGER {name} ON %s', target); "
                + ("" if drop.group(1) else f"ELSE RAISE EXCEPTION 'no such trigger: {name}'; ")
                + "END IF; END $$", False)
    insert = _INSERT.match(out)
    returning_id = False
    if insert:
        table = insert.group(2).lower()
        if insert.group(1):
            out = out[:insert.start(1)] + out[insert.end(1):]
            out = _before_returning(out, " ON CONFLICT DO NOTHING")
        if returning and table in ID_TABLES and not re.search(r"\bRETURNING\b", out, re.I):
            out = out.rstrip().rstrip(";") + " RETURNING id"
            returning_id = True
    out = re.sub(r"\bLIKE\b", "ILIKE", out)  # SQLite's LIKE ignores (ASCII) case
    return out, returning_id


def _before_returning(sql: str, clause: str) -> str:
    match = re.search(r"\bRETURNING\b", sql, re.I)
    if match:
        return sql[:match.start()] + clause.strip() + " " + sql[match.start():]
    return sql.rstrip().rstrip(";") + clause


_CALL = re.compile(r"\b(group_concat|min|max|ifnull|instr|substr)\s*\(", re.I)


def _functions(sql: str) -> str:
    """SQLite's functions that PostgreSQL spells differently: group_concat -> string_agg,
    scalar min/max (two or more arguments) -> least/greatest, ifnull -> coalesce,
    instr -> strpos."""
    pos, out = 0, []
    while True:
        match = _CALL.search(sql, pos)
        if not match:
            out.append(sql[pos:])
            return "".join(out)
        name = match.group(1).lower()
        args, end = _arguments(sql, match.end())
        inner = [_functions(a) for a in args]
        out.append(sql[pos:match.start()])
        if name == "group_concat":
            sep = inner[1] if len(inner) > 1 else "','"
            out.append(f"string_agg(CAST({inner[0]} AS TEXT), {sep})")
        elif name in ("min", "max") and len(inner) > 1:
            out.append(("least(" if name == "min" else "greatest(") + ", ".join(inner) + ")")
        elif name == "ifnull":
            out.append("coalesce(" + ", ".join(inner) + ")")
        elif name == "instr":
            out.append("strpos(" + ", ".join(inner) + ")")
        elif name == "substr":  # its positions are INTEGER, the columns BIGINT
            out.append("substr(" + ", ".join([inner[0], *(f"CAST({a} AS INTEGER)"
                                                         for a in inner[1:])]) + ")")
        else:
            out.append(sql[match.start():match.end()] + ", ".join(inner) + ")")
        pos = end


def _arguments(sql: str, start: int) -> tuple[list[str], int]:
    """The top-level arguments of the call whose '(' ends at *start*, and the index after
    its ')'."""
    depth, args, current, i = 0, [], start, start
    quote = None
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                args.append(sql[current:i].strip())
                return [a for a in args if a], i + 1
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(sql[current:i].strip())
            current = i + 1
        i += 1
    raise StoreError(f"unbalanced parentheses in SQL: {sql[:80]}")


# -- the dialect -------------------------------------------------------------------------

class PostgresDialect:
    name = "postgresql"
    begin = "BEGIN"
    after_begin = f"SELECT pg_advisory_xact_lock({PROJECT_LOCK})"

    def schema_version(self, db) -> int:
        exists = db.execute("SELECT to_regclass('qcode_schema') IS NOT NULL").fetchone()[0]
        if not exists:
            return 0
        try:
            row = db.execute("SELECT version FROM qcode_schema").fetchone()
        except driver().errors.InsufficientPrivilege:
            you = db.execute("SELECT current_user").fetchone()[0]
            raise StoreError(f"your database role {you!r} is not in this project's team; "
                             f"its owner adds you with `qcode team add {you}`") from None
        return row[0] if row else 0

    def set_schema_version(self, db, version: int) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS qcode_schema (version INTEGER NOT NULL)")
        if db.execute("UPDATE qcode_schema SET version = %s" % int(version)).rowcount == 0:
            db.execute("INSERT INTO qcode_schema (version) VALUES (%s)" % int(version))

    def prelude(self, db) -> None:
        """Before migration 1 on a new database: what SQLite's SQL takes for granted —
        sum() of comparisons (booleans here) and the NOCASE collation."""
        db.execute("CREATE FUNCTION qcode_sum_bool(bigint, boolean) RETURNS bigint "
                   "LANGUAGE sql IMMUTABLE AS 'SELECT CASE WHEN $2 IS NULL THEN $1 "
                   "ELSE coalesce($1, 0) + $2::integer END'")
        db.execute("CREATE AGGREGATE sum(boolean) (SFUNC = qcode_sum_bool, STYPE = bigint)")
        db.execute("CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', "
                   "deterministic = false)")

    def tables(self, db) -> list[str]:
        return [r[0] for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'qcode_schema' "
            "ORDER BY table_name")]

    def columns(self, db, table: str) -> list[str]:
        return [r[0] for r in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position", [table])]

    def ddl(self, db, statement: str) -> None:
        """Run one statement of a migration written for SQLite."""
        for translated in ddl(statement):
            db.execute(translated)

    def describe_error(self, exc: Exception) -> str:
        psycopg = driver()
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return (f"the database is busy: another qcode process held it for more than "
                    f"{LOCK_TIMEOUT_MS // 1000} s; try again when it has finished")
        if isinstance(exc, psycopg.errors.DiskFull):
            return f"the server cannot write ({_first_line(exc)}); the change was rolled back"
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return f"the server refused: {_first_line(exc)}{_WHY_REFUSED}"
        return _first_line(exc)

    def refusal(self, exc: BaseException) -> StoreError | None:
        """The server's access rules refused a statement (a coder's role changing the
        codebook, or another coder's row): one line saying so, not a traceback."""
        psycopg = driver()
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StoreError(self.describe_error(exc))
        return None


_WHY_REFUSED = (" (on a shared project a coder adds and changes only their own codings, "
                "memos and decisions, under the coder name that is their database role's, "
                "and the project lead's role changes the codebook and documents: see "
                "`qcode team list`)")


POSTGRES = PostgresDialect()

_TRIGGER = re.compile(
    r"CREATE TRIGGER (\w+) BEFORE (UPDATE|DELETE)( OF [\w, \"]+?)? ON (\w+)\s+BEGIN SELECT "
    r"RAISE\(ABORT, '((?:[^']|'')*)'\); END", re.S | re.I)


def ddl(statement: str) -> list[str]:
    """SQLite DDL as PostgreSQL statements: ids from an identity column, BLOB as BYTEA,
    64-bit integers, no WITHOUT ROWID, and the guard triggers (immutable revisions, the
    append-only change log) as PL/pgSQL functions that raise the same message."""
    trigger = _TRIGGER.search(statement)
    if trigger:
        name, event, columns, table, message = trigger.groups()
        message = message.replace("''", "'")
        quoted = message.replace("'", "''")
        return [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{quoted}'; "
            f"END $$",
            f"CREATE TRIGGER {name} BEFORE {event.upper()}{columns or ''} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"]
    out = re.sub(r"\bINTEGER PRIMARY KEY( AUTOINCREMENT)?", 
                 "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
    out = re.sub(r"\bINTEGER\b", "BIGINT", out)
    out = re.sub(r"\bBLOB\b", "BYTEA", out)
    out = re.sub(r"\bREAL\b", "DOUBLE PRECISION", out)
    out = re.sub(r"\)\s*WITHOUT ROWID\s*$", ")", out.rstrip())
    return [out]


def connected(db) -> list[dict]:
    """Who has the project open now: one row per qcode connection to its database (this
    one included), from the server's pg_stat_activity; a connection that named no coder
    is its login role's, the coder name it defaults to (Project.coder_name)."""
    rows = db.query(
        "SELECT pid, application_name AS app, usename AS user, client_addr AS address, "
        "backend_start AS since, state, pid = pg_backend_pid() AS you FROM pg_stat_activity "
        "WHERE datname = current_database() AND (application_name = ? OR application_name "
        "ILIKE ?) ORDER BY backend_start", [APPLICATION, APPLICATION + " %"])
    return [{"coder": row["app"][len(APPLICATION):].strip() or row["user"],
             "user": row["user"],
             "host": str(row["address"]) if row["address"] is not None else "local",
             "since": row["since"].isoformat(timespec="seconds") if row["since"] else None,
             "state": "this command" if row["you"] else row["state"], "pid": row["pid"]}
            for row in rows]
