"""Codebooks in and out: REFI-QDA .qdc (NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette),
YAML (qcode's own format), CSV and Markdown.

Export reads the codes the project uses (its database, after `codebook sync`), so GUIDs
are the ones codings refer to. Import writes the YAML codebook — the file researchers
keep under version control — and never the database: `qcode codebook sync` applies it.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from qcode import __version__
from qcode.codebook.model import GUID_NAMESPACE, codebook_from_text
from qcode.errors import InteropError, QcodeError, read_utf8
from qcode.export.files import atomic_output
from qcode.labels import clean
from qcode.interop.refi import (CODEBOOK_NS, CodeNode, child, code_element, guid, local,
                                read_codes, scrub)

EXPORT_FORMATS = ("qdc", "yaml", "csv", "md")
CSV_COLUMNS = ["path", "name", "guid", "description", "include", "exclude", "examples",
               "color", "key"]
NAME_LIMIT = 80


# -- export -------------------------------------------------------------------------

def project_codes(db) -> list[dict]:
    """The active codes in codebook order, with their lists decoded."""
    rows = [dict(r) for r in db.query(
        "SELECT id, parent_id, guid, path, name, description, include, exclude, examples, "
        "color, key, patterns, exclude_patterns, negated FROM codes WHERE status = 'active' "
        "ORDER BY position, path")]
    for row in rows:
        for name in ("include", "exclude"):
            row[name] = [line for line in (row[name] or "").split("\n") if line.strip()]
        for name in ("examples", "patterns", "exclude_patterns"):
            row[name] = json.loads(row[name] or "[]")
    return rows


def _tree(rows: list[dict]) -> list[tuple[dict, list]]:
    """(row, sub-trees) for the top-level codes, keeping codebook order."""
    by_parent: dict[int | None, list[dict]] = {}
    ids = {r["id"] for r in rows}
    for row in rows:
        parent = row["parent_id"] if row["parent_id"] in ids else None
        by_parent.setdefault(parent, []).append(row)

    def build(parent):
        return [(row, build(row["id"])) for row in by_parent.get(parent, [])]
    return build(None)


def to_nodes(rows: list[dict]) -> list[CodeNode]:
    def node(row, subs):
        return CodeNode(row["name"], row["guid"], row["description"] or "", row["color"],
                        row["include"], row["exclude"], row["examples"],
                        children=[node(*s) for s in subs])
    return [node(*t) for t in _tree(rows)]


def render_qdc(nodes: list[CodeNode]) -> bytes:
    root = Element("CodeBook", {"xmlns": CODEBOOK_NS, "origin": f"qcode {__version__}"})
    codes = SubElement(root, "Codes")
    for node in nodes:
        code_element(codes, node)
    scrub(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, encoding="utf-8",
                                                                   xml_declaration=False)


def yaml_codes(rows: list[dict]) -> list[dict]:
    """The codes as qcode codebook YAML mappings (only the fields that are set)."""
    def mapping(row, subs):
        out: dict = {"name": row["name"], "guid": row["guid"]}
        for name in ("key", "color", "description", "include", "exclude", "examples",
                     "patterns", "exclude_patterns", "negated"):
            if row[name]:
                out[name] = row[name]
        if subs:
            out["codes"] = [mapping(*s) for s in subs]
        return out
    return [mapping(*t) for t in _tree(rows)]


def render_yaml(data: dict, *, header: str = "") -> str:
    """*data*: the codebook mapping (name, codes and any other top-level fields)."""
    import yaml

    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88,
                          default_flow_style=False)
    text = header + body
    codebook_from_text(text, "<written codebook>")  # never write a codebook qcode rejects
    return text


def render_csv(rows: list[dict]) -> str:
    from qcode.export.excerpts import defuse

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([defuse("\n".join(row[c]) if isinstance(row[c], list) else row[c])
                         for c in CSV_COLUMNS])
    return out.getvalue()


def render_markdown(name: str, rows: list[dict]) -> str:
    lines = [f"# {name}", "", f"{len(rows)} codes. Exported by qcode {__version__}.", ""]
    for row, depth in _depths(rows):
        lines += [f"{'#' * min(depth + 2, 6)} {row['path']}", ""]
        meta = [f"GUID `{row['guid']}`"] + ([f"colour `{row['color']}`"] if row["color"]
                                            else []) + ([f"key `{row['key']}`"] if row["key"]
                                                        else [])
        lines += [" · ".join(meta), ""]
        if row["description"]:
            lines += [row["description"], ""]
        for title, items in (("Include", row["include"]), ("Exclude", row["exclude"])):
            if items:
                lines += [f"**{title}:**", ""] + [f"- {item}" for item in items] + [""]
        if row["examples"]:
            lines += ["**Examples:**", ""]
            for example in row["examples"]:
                lines += [f"> {example}", ""]
    return "\n".join(lines)


def _depths(rows: list[dict]):
    def walk(tree, depth):
        for row, subs in tree:
            yield row, depth
            yield from walk(subs, depth + 1)
    yield from walk(_tree(rows), 0)


def export_codebook(db, path: str | Path, *, fmt: str | None = None, name: str = "codebook",
                    force: bool = False) -> Path:
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".").replace("yml", "yaml")
    if fmt not in EXPORT_FORMATS:
        raise QcodeError(f"{path}: cannot tell the format; use --format "
                         f"{'|'.join(EXPORT_FORMATS)}")
    rows = project_codes(db)
    if not rows:
        raise QcodeError("the project has no codes yet: run `qcode codebook sync` first")
    if fmt == "qdc":
        with atomic_output(path, force=force, mode="wb") as f:
            f.write(render_qdc(to_nodes(rows)))
        return path
    text = {"yaml": lambda: render_yaml({"name": name, "codes": yaml_codes(rows)}, header=(
                f"# Exported by qcode {__version__} from the project's codes.\n")),
            "csv": lambda: render_csv(rows),
            "md": lambda: render_markdown(name, rows)}[fmt]()
    with atomic_output(path, force=force) as f:
        f.write(text)
    return path


# -- import -------------------------------------------------------------------------

@dataclass
class CodebookImport:
    source: Path
    target: Path
    origin: str
    added: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)  # existing codes given a definition
    warnings: list[str] = field(default_factory=list)
    backup: Path | None = None


def read_qdc(path: Path) -> tuple[str, list[CodeNode]]:
    """(origin, codes) of a REFI-QDA codebook file."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(path.read_bytes())
    except OSError as exc:
        raise InteropError(f"{path}: cannot read: {exc.strerror}") from None
    except DefusedXmlException as exc:
        raise InteropError(f"{path}: refused: the XML uses {type(exc).__name__} "
                           "(entities or external references)") from None
    except ElementTree.ParseError as exc:
        raise InteropError(f"{path}: not well-formed XML: {exc}") from None
    if local(root.tag) != "CodeBook":
        raise InteropError(f"{path}: not a REFI-QDA codebook (root <{local(root.tag)}>, "
                           "expected <CodeBook>)")
    codes = child(root, "Codes")
    return root.get("origin") or "", read_codes(codes, str(path)) if codes is not None else []


def read_codebook_csv(path: Path) -> tuple[str, list[CodeNode]]:
    """qcode's codebook CSV (a `path` column, levels joined by /) or Taguette's (`tag`,
    levels joined by dots)."""
    text = read_utf8(path, "a codebook CSV")
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = set(rows[0]) if rows else set()
    if "path" in columns:
        separator, column, origin = "/", "path", "qcode CSV"
    elif "tag" in columns:
        separator, column, origin = ".", "tag", "Taguette CSV"
    elif "name" in columns:
        separator, column, origin = "/", "name", "CSV"
    else:
        raise InteropError(f"{path}: a codebook CSV needs a 'path', 'tag' or 'name' column "
                           f"(found {', '.join(sorted(columns)) or 'no header'})")
    top: list[CodeNode] = []
    nodes: dict[str, CodeNode] = {}
    for number, row in enumerate(rows, 2):
        names = [p.strip() for p in (row.get(column) or "").split(separator)]
        if not all(names):
            raise InteropError(f"{path}:{number}: empty code name in {row.get(column)!r}")
        value = lambda key: _undefuse(row.get(key) or "")  # noqa: E731
        for depth in range(1, len(names) + 1):
            key = "/".join(names[:depth])
            if key not in nodes:
                node = CodeNode(names[depth - 1], str(uuid.uuid5(GUID_NAMESPACE, key)))
                nodes[key] = node
                (nodes["/".join(names[:depth - 1])].children if depth > 1 else top).append(node)
        node = nodes["/".join(names)]
        if value("guid"):
            node.guid = guid(value("guid"), f"{path}:{number}: ")
        node.description = value("description").strip()
        node.color = value("color") or None
        for key in ("include", "exclude", "examples"):
            setattr(node, key, [line for line in value(key).split("\n") if line.strip()])
    return origin, top


def _undefuse(value: str) -> str:
    """Undo the ' that qcode's CSV export puts before risky first characters."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r") \
        else value


def _split_dotted(nodes: list[CodeNode]) -> list[CodeNode]:
    """Taguette names its tags with dotted paths (``emotion.anxiety``); make them a tree."""
    top: list[CodeNode] = []
    made: dict[str, CodeNode] = {}
    for node in nodes:
        parts = [p for p in node.name.split(".") if p] or [node.name]
        for depth in range(1, len(parts)):
            key = ".".join(parts[:depth])
            if key not in made:
                made[key] = CodeNode(parts[depth - 1], str(uuid.uuid5(GUID_NAMESPACE, key)))
                (made[".".join(parts[:depth - 1])].children if depth > 1 else top).append(
                    made[key])
        key = ".".join(parts)
        if key in made:  # a parent that is also a tag of its own
            made[key].guid, made[key].description = node.guid, node.description
            continue
        node.name = parts[-1]
        made[key] = node
        (made[".".join(parts[:-1])].children if len(parts) > 1 else top).append(node)
    return top


def _clean_names(nodes: list[CodeNode], warnings: list[str], parent: str = "") -> None:
    """Names qcode accepts: no / or \\, no control characters, at most 80 characters,
    distinct among siblings. Every change is reported."""
    seen: set[str] = set()
    for node in nodes:
        name = " ".join(clean(node.name).replace("/", "-").replace("\\", "-").split())
        if len(name) > NAME_LIMIT:
            name = name[:NAME_LIMIT - 1].rstrip() + "…"
        if name in (".", ".."):
            name = f"code {name}"
        base, n = name, 2
        while name.casefold() in seen:  # "Trust" and "trust" are one code elsewhere
            name, n = f"{base} ({n})", n + 1
        if name != node.name:
            warnings.append(f"code {parent + node.name!r} is named {name!r} in qcode "
                            "(names cannot hold / \\ or control characters, have at most "
                            "80 characters and differ among siblings in more than case)")
            node.name = name
        seen.add(name.casefold())
        _clean_names(node.children, warnings, f"{parent}{name}/")


def read_codebook_file(path: str | Path) -> tuple[str, list[CodeNode], list[str]]:
    """(origin, codes, warnings) of a .qdc or .csv codebook."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".qdc":
        origin, nodes = read_qdc(path)
        if origin.lower().startswith("taguette"):
            nodes = _split_dotted(nodes)
    elif suffix == ".csv":
        origin, nodes = read_codebook_csv(path)
    else:
        raise InteropError(f"{path}: import a codebook from a .qdc (REFI-QDA) or .csv file")
    warnings: list[str] = []
    _clean_names(nodes, warnings)
    return origin, nodes, warnings


def _node_mapping(node: CodeNode) -> dict:
    out: dict = {"name": node.name, "guid": node.guid}
    if node.color:
        out["color"] = node.color
    for key in ("description", "include", "exclude", "examples"):
        if getattr(node, key):
            out[key] = getattr(node, key)
    return out


def import_codebook(source: str | Path, target: str | Path, *, merge: bool = False,
                    name: str | None = None) -> CodebookImport:
    """Write the codes of *source* into the YAML codebook *target*. A target that already
    has codes is changed only with *merge*: its codes stay as they are (empty
    descriptions and colours are filled in), codes it lacks are added under their
    parents, matched by GUID and then by path; the old file is kept as .bak."""
    from qcode.safeyaml import load_file

    source, target = Path(source), Path(target)
    origin, nodes, warnings = read_codebook_file(source)
    result = CodebookImport(source, target, origin or "unknown program", warnings=warnings)
    data: dict = {}
    if target.exists():
        loaded = load_file(target).data
        data = loaded if isinstance(loaded, dict) else {}
    codes = data.get("codes") or []
    if codes and not merge:
        raise QcodeError(f"{target} already has codes; use --merge to add the imported "
                         "ones to it (or --output to write a new codebook file)")
    data.setdefault("name", name or source.stem)
    data["codes"] = codes
    had_codes = bool(codes)
    result.added, _ = merge_codes(codes, nodes, result.warnings, result.completed)
    header = (f"# Codebook for qcode. Codes imported from {source.name} ({result.origin}) by "
              f"qcode {__version__};\n# format: codebooks/README.md in the qcode repository.\n")
    text = render_yaml(data, header=header)
    if target.exists() and had_codes:
        result.backup = target.with_name(target.name + ".bak")
        shutil.copy2(target, result.backup)
    with atomic_output(target, force=True) as f:
        f.write(text)
    return result


DEFINITION = ("description", "color", "include", "exclude", "examples")


def merge_codes(codes: list[dict], nodes: list[CodeNode], warnings: list[str],
                completed: list[str] | None = None, *, conflicts: list[str] | None = None,
                prefer: str = "ours") -> tuple[list[str], dict[str, str]]:
    """Add *nodes* to the YAML code mappings *codes* (in place): a code found by GUID,
    then by path, stays as it is (empty fields are filled in; where both sides define a
    field differently, *conflicts* lists it and *prefer* 'theirs' takes the other's);
    others are added under their parents. Returns (paths added, {imported GUID: its
    path in *codes*})."""
    _clean_names(nodes, warnings)
    by_guid, by_path = _index(codes)
    added: list[str] = []
    path_of: dict[str, str] = {}
    placed: dict[str, tuple[dict, str]] = {}  # imported path -> (mapping, qcode path)
    for path, node in (item for top in nodes for item in top.walk()):
        parent_path = path.rpartition("/")[0]
        existing = by_guid.get(node.guid) or by_path.get(path)
        if existing is not None:
            filled = [k for k in DEFINITION if getattr(node, k) and not existing[0].get(k)]
            for key in filled:
                existing[0][key] = getattr(node, key)
            differ = [k for k in DEFINITION if getattr(node, k) and existing[0].get(k)
                      and _norm(existing[0][k]) != _norm(getattr(node, k))]
            if differ and conflicts is not None:
                conflicts.append(f"code {existing[1]!r}: {', '.join(differ)} differ"
                                 + (" (theirs taken)" if prefer == "theirs" else
                                    " (ours kept)"))
            if prefer == "theirs":
                for key in differ:
                    existing[0][key] = getattr(node, key)
            if filled and completed is not None:
                completed.append(existing[1])
            placed[path] = existing
            path_of[node.guid] = existing[1]
            continue
        mapping = _node_mapping(node)
        if parent_path:
            holder, holder_path = placed[parent_path]
            holder.setdefault("codes", []).append(mapping)
            here = f"{holder_path}/{node.name}"
        else:
            codes.append(mapping)
            here = node.name
        placed[path] = (mapping, here)
        path_of[node.guid] = here
        added.append(here)
    return added, path_of


def _norm(value):
    if isinstance(value, str):
        return " ".join(value.split()).lower() if value.startswith("#") else " ".join(
            value.split())
    return [_norm(v) for v in value] if isinstance(value, list) else value


def _index(codes: list[dict]) -> tuple[dict[str, tuple[dict, str]],
                                       dict[str, tuple[dict, str]]]:
    """The YAML code mappings with their paths, by GUID (given, or the default qcode
    derives from the path) and by path."""
    by_guid, by_path = {}, {}

    def walk(items, parent):
        for item in items:
            if not isinstance(item, dict) or not item.get("name"):
                continue
            path = f"{parent}/{item['name']}" if parent else str(item["name"])
            by_path[path] = (item, path)
            given = item.get("guid")
            try:
                key = guid(given) if given else str(uuid.uuid5(GUID_NAMESPACE, path))
            except InteropError:
                key = str(given)
            by_guid[key] = (item, path)
            walk(item.get("codes") or [], path)
    walk(codes, "")
    return by_guid, by_path
