"""The rich-text content of a document as the editor keeps it, read and changed on the server.

TipTap's Collaboration extension (y-prosemirror) keeps the ProseMirror document in the Y.XmlFragment
``default``: every block node is a Y.XmlElement named after its node type (``paragraph``, ``heading``
with ``level``, ``bulletList`` > ``listItem`` > ``paragraph``, ``table`` > ``tableRow`` > ``tableCell`` /
``tableHeader``, ...), node attributes are element attributes, and text is a Y.XmlText whose
formatting attributes are the marks (``{"bold": {}}``, ``{"link": {"href": ...}}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from hub.docs.model import FRAGMENT


@dataclass
class Span:
    """A run of text with its marks (mark name -> the mark's attributes)."""

    text: str
    marks: dict[str, Any] = field(default_factory=dict)


@dataclass
class Node:
    """A block or inline node: its type, attributes and children."""

    type: str
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list[Node | Span] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The plain text of the node and everything inside it."""
        return "".join(c.text for c in self.children)


def doc_from_state(*updates: bytes) -> Doc:
    """A pycrdt Doc holding the given (snapshot and) updates."""
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


def fragment_of(doc: Doc) -> XmlFragment:
    return doc.get(FRAGMENT, type=XmlFragment)


def _mark_name(name: str) -> str:
    # y-prosemirror suffixes marks that may overlap (e.g. comments) with "--<hash>".
    return name.split("--", 1)[0]


def _read_text(text: XmlText) -> list[Node | Span]:
    out: list[Node | Span] = []
    for chunk, attrs in text.diff():
        if isinstance(chunk, str):
            marks = {_mark_name(k): v for k, v in (attrs or {}).items() if v is not None}
            out.append(Span(chunk, marks))
        elif isinstance(chunk, XmlElement):
            out.append(_read_element(chunk))
    return out


def _attributes(element: XmlElement) -> dict[str, Any]:
    # pycrdt types the view's __iter__ as returning an Iterable (it returns an iterator).
    return dict(element.attributes.__iter__())


def _read_element(element: XmlElement) -> Node:
    attrs = _attributes(element)
    node = Node(element.tag or "paragraph", attrs)
    for child in element.children:
        if isinstance(child, XmlText):
            node.children.extend(_read_text(child))
        elif isinstance(child, XmlElement):
            node.children.append(_read_element(child))
    return node


def read_tree(doc: Doc) -> Node:
    """The document's content as a tree of Nodes and Spans, rooted at a ``doc`` node."""
    root = Node("doc")
    for child in fragment_of(doc).children:
        if isinstance(child, XmlElement):
            root.children.append(_read_element(child))
        elif isinstance(child, XmlText):
            # Not written by the editor, but a client could: keep the text as a paragraph.
            root.children.append(Node("paragraph", children=_read_text(child)))
    return root


def plain_text(doc: Doc) -> str:
    """Every block's text, one per line (for tests and search)."""
    lines: list[str] = []

    def walk(node: Node) -> None:
        blocks = [c for c in node.children if isinstance(c, Node) and c.type not in INLINE_NODES]
        if not blocks:
            lines.append(node.text)
        for child in blocks:
            walk(child)

    for block in read_tree(doc).children:
        if isinstance(block, Node):
            walk(block)
    return "\n".join(lines)


INLINE_NODES = frozenset({"hardBreak", "image", "mention"})


def heading_level(node: Node) -> int:
    """A heading's level, 1-6 whatever number type the client stored."""
    try:
        level = int(node.attrs.get("level", 1))
    except (TypeError, ValueError):
        level = 1
    return min(6, max(1, level))


def _element_text(element: XmlElement) -> str:
    return "".join(str(c) if isinstance(c, XmlText) else _element_text(c)
                   for c in element.children if isinstance(c, XmlText | XmlElement))


def _level_of(element: XmlElement) -> int:
    return heading_level(Node("heading", _attributes(element)))


def append_under_heading(doc: Doc, headings: Sequence[str], texts: Sequence[str]) -> None:
    """Append paragraphs at the end of the section under the first heading named one of ``headings``.

    Without such a heading, a level-2 heading ``headings[0]`` is appended to the document first.
    """
    wanted = {h.strip().casefold() for h in headings}
    fragment = fragment_of(doc)
    with doc.transaction():
        children = list(fragment.children)
        at = None
        for index, child in enumerate(children):
            if (isinstance(child, XmlElement) and child.tag == "heading"
                    and _element_text(child).strip().casefold() in wanted):
                level = _level_of(child)
                at = index + 1
                while at < len(children):
                    nxt = children[at]
                    if isinstance(nxt, XmlElement) and nxt.tag == "heading" and _level_of(nxt) <= level:
                        break
                    at += 1
                break
        if at is None:
            _append_heading(fragment, headings[0], 2)
            at = len(fragment.children)
        for offset, text in enumerate(texts):
            paragraph = fragment.children.insert(at + offset, XmlElement("paragraph"))
            paragraph.children.append(XmlText(text))


def write_template(doc: Doc, blocks: Sequence[tuple[str, str]]) -> bool:
    """Write a template into an empty document: ``(kind, text)`` blocks, kind ``h1``, ``h2`` or ``p``.

    A document that has any content is left as it is (False): a template never overwrites what people wrote.
    """
    fragment = fragment_of(doc)
    if len(fragment.children) > 0:
        return False
    with doc.transaction():
        for kind, text in blocks:
            if kind in ("h1", "h2"):
                _append_heading(fragment, text, 1 if kind == "h1" else 2)
            else:
                fragment.children.append(XmlElement("paragraph", None, [XmlText(text)] if text else []))
    return True


def _append_heading(fragment: XmlFragment, text: str, level: int) -> None:
    heading = fragment.children.append(XmlElement("heading", None, [XmlText(text)] if text else []))
    heading.attributes["level"] = level  # a number, as y-prosemirror writes it (pycrdt types str only)


def _copy_children(source: XmlFragment | XmlElement, target: XmlFragment | XmlElement) -> None:
    for child in source.children:
        if isinstance(child, XmlText):
            copy = target.children.append(XmlText())
            for chunk, attrs in child.diff():
                if isinstance(chunk, str) and chunk:
                    copy.insert(len(copy), chunk, attrs)
        elif isinstance(child, XmlElement):
            element = target.children.append(
                XmlElement(child.tag or "paragraph", _attributes(child)))
            _copy_children(child, element)


def replace_content(doc: Doc, source: Doc) -> None:
    """Make the content of ``doc`` equal to that of ``source`` (in one transaction of ``doc``)."""
    fragment = fragment_of(doc)
    with doc.transaction():
        count = len(fragment.children)
        if count:
            del fragment.children[0:count]
        _copy_children(fragment_of(source), fragment)
