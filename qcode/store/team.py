"""A team on a PostgreSQL server: coders and leads are database roles.

Each project database has two group roles, ``qcode_<database>_coder`` and
``qcode_<database>_lead``; a person logs in with a role of their own that is a member of
one of them, and their coder name in the project is that role's name. What a group may
touch at all is granted here: a coder reads everything, and writes only codings, memos,
suggestions (deciding them), runs, trained models (removing only superseded ones) and
the change log (append only), and cannot set the id sequences; a lead also writes the
codebook, the documents and their revisions. Which rows a coder may
change (their own) is row-level security, set up by migration 6
(qcode.store.migrations.m006_row_security).

The project's owner (the role that created it, which row-level security does not bind)
manages the team: creating roles needs its CREATEROLE right. Passwords are never set
here: the server's administrator sets them (``\\password NAME`` in psql) or the server
authenticates another way (peer, certificates).
"""

from __future__ import annotations

from qcode.errors import NotFoundError, StoreError
from qcode.store.connection import Database, transaction
from qcode.store.records import now

KINDS = ("lead", "coder")
MAX_ROLE_BYTES = 63  # PostgreSQL cuts longer names

# what a coder may do to a table beyond reading it (a lead: everything, but the change log)
CODER_WRITES = {
    "codings": "INSERT, UPDATE, DELETE", "memos": "INSERT, UPDATE, DELETE",
    "suggestions": "INSERT, UPDATE", "runs": "INSERT, UPDATE", "run_items": "INSERT",
    "changes": "INSERT", "coders": "INSERT", "models": "INSERT, DELETE"}
APPEND_ONLY = ("changes",)


def require_server(db: Database) -> None:
    if not db.on_postgres:
        raise StoreError("qcode team is for a project on a PostgreSQL server, whose coders "
                         "are database roles; a SQLite project is one file, with no roles "
                         "(move it with `qcode migrate --to postgresql://HOST/DB`)")


def group_roles(db: Database) -> dict[str, str]:
    """{"lead": role, "coder": role}: the project's group roles' names."""
    require_server(db)
    database = db.execute("SELECT current_database()").fetchone()[0]
    roles = {kind: f"qcode_{database}_{kind}" for kind in KINDS}
    if any(len(role.encode()) > MAX_ROLE_BYTES for role in roles.values()):
        raise StoreError(f"the database name {database!r} is too long for its roles "
                         f"({roles['coder']!r} is over {MAX_ROLE_BYTES} bytes); give the "
                         "project a database with a shorter name")
    return roles


def _ident(db: Database, name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(db.conn.raw)


def _run(db: Database, statement: str) -> None:
    """A statement with quoted names in it, as written (not SQLite's SQL, not rewritten)."""
    db.conn.raw.execute(statement)


def owner_and_you(db: Database) -> tuple[str, str, bool]:
    """(the project's owner, your role, whether you may act as the owner: you are the owner
    or a superuser)."""
    owner, you, superuser = db.execute(
        "SELECT tableowner, current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = "
        "current_user) FROM pg_tables WHERE schemaname = current_schema() AND "
        "tablename = 'codings'").fetchone()
    return owner, you, owner == you or bool(superuser)


def require_owner(db: Database, doing: str, why: str = "") -> None:
    """Refuse, in one line, unless you may act as the project's owner: only its owner (or
    a superuser) may do *doing* ("manages its team"); *why* says why, before it."""
    owner, you, may = owner_and_you(db)
    if not may:
        raise StoreError(f"{why}only the project's owner (the database role {owner!r}, who "
                         f"created it) {doing}; you are {you!r}")


def require_lead(db: Database, doing: str) -> None:
    """Refuse, in one line, unless you are the project's lead or may act as its owner."""
    owner, you, may = owner_and_you(db)
    if not may and not db.execute("SELECT qcode_is_lead()").fetchone()[0]:
        raise StoreError(f"{doing} is for the project's lead or its owner ({owner!r}); you "
                         f"are {you!r}, a coder (`qcode team list`)")


def _check_owner(db: Database) -> None:
    require_owner(db, "manages its team")


def _role_exists(db: Database, name: str) -> bool:
    return db.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", [name]).fetchone() is not None


def _create_role(db: Database, name: str, options: str) -> bool:
    """Create role *name* unless it exists; whether it was created."""
    if _role_exists(db, name):
        return False
    from qcode.store.postgres import driver

    try:
        _run(db, f"CREATE ROLE {_ident(db, name)} {options}")
    except driver().errors.InsufficientPrivilege:
        raise StoreError(f"creating the role {name!r} needs the CREATEROLE right, which your "
                         "role lacks: ask the server's administrator to grant it (ALTER ROLE "
                         f"... CREATEROLE) or to create the role (CREATE ROLE \"{name}\" "
                         f"{options}), then run this again") from None
    return True


def grant_rights(db: Database) -> dict[str, str]:
    """Create the group roles if missing and grant them their rights on every table
    (again: a later migration's tables too). Inside the caller's transaction; returns
    group_roles(db)."""
    roles = group_roles(db)
    _check_owner(db)
    for role in roles.values():
        _create_role(db, role, "NOLOGIN")
    lead, coder = (_ident(db, roles[kind]) for kind in KINDS)
    schema = _ident(db, db.execute("SELECT current_schema()").fetchone()[0])
    _run(db, f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {lead}, {coder}")
    # setting a sequence (setval) is a lead's: a coder who could would make the server
    # hand out ids of removed rows again (qcode.store.connection.Table.insert)
    _run(db, f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {lead}")
    _run(db, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {coder}")
    _run(db, f"REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA {schema} FROM {coder}")
    for table in db.dialect.tables(db):
        name = _ident(db, table)
        if table in APPEND_ONLY:
            _run(db, f"GRANT INSERT ON {name} TO {lead}")
        else:
            _run(db, f"GRANT INSERT, UPDATE, DELETE ON {name} TO {lead}")
        if table in CODER_WRITES:
            _run(db, f"GRANT {CODER_WRITES[table]} ON {name} TO {coder}")
    return roles


def _check_name(db: Database, name: str, roles: dict[str, str]) -> str:
    name = name.strip()
    if not name or len(name.encode()) > MAX_ROLE_BYTES:
        raise StoreError(f"{name!r}: a coder's name is their database role's: 1 to "
                         f"{MAX_ROLE_BYTES} bytes")
    if name.lower().startswith("pg_") or name in roles.values():
        raise StoreError(f"{name!r} is a name the server or qcode keeps for itself")
    return name


def add_member(db: Database, name: str, *, lead: bool = False) -> dict:
    """Make *name* (a login role, created if it does not exist, with no password) a coder
    of the project, or with *lead* its lead (leaving the other group); and a coder in the
    project's coders table. One transaction. Returns {"name", "role", "created"}."""
    require_server(db)
    with transaction(db):
        roles = grant_rights(db)
        name = _check_name(db, name, roles)
        superuser = db.execute("SELECT rolsuper FROM pg_roles WHERE rolname = ?",
                               [name]).fetchone()
        if superuser and superuser[0]:
            raise StoreError(f"{name!r} is a superuser, whom no row-level security binds; "
                             "give each coder a role of their own")
        created = _create_role(db, name, "LOGIN")
        kind, other = ("lead", "coder") if lead else ("coder", "lead")
        _run(db, f"GRANT {_ident(db, roles[kind])} TO {_ident(db, name)}")
        _run(db, f"REVOKE {_ident(db, roles[other])} FROM {_ident(db, name)}")
        db.execute("INSERT OR IGNORE INTO coders (name, created) VALUES (?, ?)", [name, now()])
    return {"name": name, "role": kind, "created": created}


def remove_member(db: Database, name: str) -> None:
    """Take *name* out of the project's team (their login role, and their codings, memos
    and decisions, stay: the log says who did what). One transaction."""
    require_server(db)
    with transaction(db):
        roles = grant_rights(db)
        if not any(member["name"] == name for member in _members(db, roles)):
            raise NotFoundError(f"{name!r} is not in this project's team")
        for role in roles.values():
            _run(db, f"REVOKE {_ident(db, role)} FROM {_ident(db, name)}")


def _members(db: Database, roles: dict[str, str]) -> list[dict]:
    return [dict(row) for row in db.query(
        "SELECT m.rolname AS name, CASE WHEN g.rolname = ? THEN 'lead' ELSE 'coder' END "
        "AS role, m.rolcanlogin AS login, (SELECT count(*) FROM codings c JOIN coders k ON "
        "k.id = c.coder_id WHERE k.name = m.rolname) AS codings FROM pg_auth_members a "
        "JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
        "WHERE g.rolname IN (?, ?) ORDER BY g.rolname = ? DESC, m.rolname",
        [roles["lead"], *roles.values(), roles["lead"]])]


def list_team(db: Database) -> list[dict]:
    """The project's leads and coders: name, role ("lead" or "coder"), login (whether the
    role may log in), codings (how many are theirs); leads first."""
    roles = group_roles(db)
    return _members(db, roles)
