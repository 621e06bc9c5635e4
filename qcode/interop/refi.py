"""REFI-QDA pieces shared by the codebook (.qdc) and project (.qdpx) exchange.

Reading is lenient where real files differ (namespace typos such as
``urn:QDA-XML:codebook:1:0``, GUIDs in any case or in braces) and strict where safety is
at stake (XML through defusedxml: no entities, no external references).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement

from qcode.errors import InteropError

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})\}?$")
# how qcode writes include/exclude/examples into a REFI Description, and reads them back
SECTIONS = (("include", "Include:"), ("exclude", "Exclude:"), ("examples", "Examples:"))


def guid(value: str | None, where: str = "") -> str:
    """A GUID as qcode keeps it: lower case, no braces."""
    match = _GUID.match((value or "").strip())
    if not match:
        raise InteropError(f"{where}not a GUID: {value!r}")
    return match.group(1).lower()


def new_guid() -> str:
    return str(uuid.uuid4())


def local(tag: str) -> str:
    """An element's name without its namespace (so typos in the namespace do not matter)."""
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local(child.tag) == name]


def child(element: Element, name: str) -> Element | None:
    found = children(element, name)
    return found[0] if found else None


@dataclass
class CodeNode:
    """A code as REFI-QDA carries it, plus what qcode keeps beyond the standard."""
    name: str
    guid: str
    description: str = ""
    color: str | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    codable: bool = True
    children: list[CodeNode] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # GUIDs of the memos (REFI Notes) on it

    def walk(self, parent: str | None = None):
        """(path, node) for this code and every code below it."""
        path = f"{parent}/{self.name}" if parent else self.name
        yield path, self
        for sub in self.children:
            yield from sub.walk(path)


def describe(node: CodeNode) -> str:
    """The Description text: the definition, then Include:/Exclude:/Examples: lists."""
    parts = [node.description] if node.description else []
    for attribute, heading in SECTIONS:
        items = getattr(node, attribute)
        if items:
            parts.append(heading + "".join(f"\n- {item}" for item in items))
    return "\n\n".join(parts)


def split_description(text: str) -> tuple[str, dict[str, list[str]]]:
    """The inverse of `describe`: the definition and any Include:/Exclude:/Examples:
    lists at its end. Text that does not follow the layout stays in the definition."""
    lists: dict[str, list[str]] = {}
    blocks = text.strip().split("\n\n")
    while blocks:
        lines = blocks[-1].split("\n")
        section = next((a for a, h in SECTIONS if lines[0] == h), None)
        if section is None or section in lists or not all(
                line.startswith("- ") for line in lines[1:]) or len(lines) < 2:
            break
        lists[section] = [line[2:] for line in lines[1:]]
        blocks.pop()
    return "\n\n".join(blocks).strip(), lists


def code_element(parent: Element, node: CodeNode) -> Element:
    attributes = {"guid": node.guid, "name": node.name,
                  "isCodable": "true" if node.codable else "false"}
    if node.color:
        attributes["color"] = node.color
    element = SubElement(parent, "Code", attributes)
    description = describe(node)
    if description:
        SubElement(element, "Description").text = description
    for sub in node.children:
        code_element(element, sub)
    return element


def read_codes(codes: Element, source: str) -> list[CodeNode]:
    """The <Code> elements under *codes* (a <Codes> element), recursively."""
    out = []
    for element in children(codes, "Code"):
        name = (element.get("name") or "").strip()
        if not name:
            raise InteropError(f"{source}: a <Code> without a name "
                               f"(guid {element.get('guid')!r})")
        description = child(element, "Description")
        definition, lists = split_description(description.text or "" if description is not None
                                              else "")
        color = element.get("color")
        out.append(CodeNode(
            name=name, guid=guid(element.get("guid"), f"{source}: code {name!r}: "),
            description=definition, color=color if color and re.fullmatch(
                r"#[0-9A-Fa-f]{6}", color) else None,
            codable=(element.get("isCodable") or "true").lower() != "false",
            children=read_codes(element, source),
            notes=[r.get("targetGUID") or "" for r in children(element, "NoteRef")], **lists))
    return out


# what XML 1.0 cannot carry: control characters other than tab, LF, CR; lone surrogates;
# U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def scrub(root: Element) -> int:
    """Replace what XML cannot carry by U+FFFD in every text and attribute of the tree;
    returns how many values changed."""
    changed = 0
    for element in root.iter():
        if element.text and _NOT_XML.search(element.text):
            element.text = _NOT_XML.sub("\ufffd", element.text)
            changed += 1
        for key, value in element.attrib.items():
            if _NOT_XML.search(value):
                element.set(key, _NOT_XML.sub("\ufffd", value))
                changed += 1
    return changed
