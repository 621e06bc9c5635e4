"""Reading codes back from the store."""

from __future__ import annotations


def list_codes(db, *, include_inactive: bool = False) -> list[dict]:
    status = "" if include_inactive else "WHERE c.status = 'active'"
    return [dict(r) for r in db.query(
        "SELECT c.id, c.guid, c.path, c.name, c.key, c.color, c.status, c.description, "
        "count(g.id) AS codings, count(DISTINCT g.document_id) AS documents "
        f"FROM codes c LEFT JOIN codings g ON g.code_id = c.id {status} "
        "GROUP BY c.id ORDER BY c.status != 'active', c.position, c.path")]


def _normal_guid(ref: str) -> str:
    return ref.strip().strip("{}").lower()


def resolve_code(db, ref: str) -> dict:
    """An active code by path (``trust/interpersonal``), unique path suffix
    (``interpersonal``), or GUID (any case, braces allowed). Unknown or ambiguous
    references are a NotFoundError that lists the closest or competing paths."""
    from qcode.errors import NotFoundError

    ref = ref.strip().strip("/")
    rows = [dict(r) for r in db.query("SELECT * FROM codes WHERE status = 'active'")]
    exact = [r for r in rows if r["path"] == ref or r["guid"] == _normal_guid(ref)]
    if not exact:
        exact = [r for r in rows if r["path"].endswith("/" + ref)]
    if not exact:
        folded = ref.casefold()
        exact = [r for r in rows if r["path"].casefold() == folded
                 or r["path"].casefold().endswith("/" + folded)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise NotFoundError(f"code {ref!r} is ambiguous: "
                            f"{', '.join(sorted(r['path'] for r in exact))}; give the full path")
    from rapidfuzz import process

    close = [m[0] for m in process.extract(ref, [r["path"] for r in rows], limit=3,
                                           score_cutoff=50)]
    if not rows:
        raise NotFoundError(f"no code {ref!r}: the project has no codes; run `qcode codebook sync`")
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise NotFoundError(f"no code {ref!r}{hint}")


def descendants(db, code_id: int) -> list[int]:
    """*code_id* and the ids of all codes below it."""
    return [r[0] for r in db.execute(
        "WITH RECURSIVE tree(id) AS (SELECT ? UNION ALL "
        "SELECT c.id FROM codes c JOIN tree ON c.parent_id = tree.id) SELECT id FROM tree",
        [code_id])]
