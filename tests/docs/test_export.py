"""The converters on their own: nested lists, quotes, code, links, line breaks, hostile text."""

from __future__ import annotations

import io

import docx
from pycrdt import Doc, XmlElement, XmlText

from hub.docs.content import fragment_of, read_tree, replace_content
from hub.docs.export import to_docx, to_html_fragment, to_markdown


def p(text: str) -> XmlElement:
    return XmlElement("paragraph", None, [XmlText(text)])


def build() -> Doc:
    doc: Doc = Doc()
    root = fragment_of(doc)
    outer = root.children.append(XmlElement("bulletList"))
    item = outer.children.append(XmlElement("listItem", None, [p("parent")]))
    inner = item.children.append(XmlElement("bulletList"))
    inner.children.append(XmlElement("listItem", None, [p("child")]))
    root.children.append(XmlElement("blockquote", None, [p("quoted")]))
    code = root.children.append(XmlElement("codeBlock", {"language": "python"}))
    code.children.append(XmlText("print('<hi>')\nx = 1"))
    linked = root.children.append(XmlElement("paragraph"))
    text = linked.children.append(XmlText())
    text.insert(len(text), "safe", {"link": {"href": "https://gov.example/a?b=1&c=2"}})
    text.insert(len(text), " and ")
    text.insert(len(text), "evil", {"link": {"href": "javascript:alert(1)"}})
    broken = root.children.append(XmlElement("paragraph"))
    broken.children.append(XmlText("line one"))
    broken.children.append(XmlElement("hardBreak"))
    broken.children.append(XmlText("line two"))
    root.children.append(p("# not a heading, *not emphasis*"))
    root.children.append(XmlElement("horizontalRule"))
    return doc


def test_markdown() -> None:
    md = to_markdown(read_tree(build()), "T")
    assert "- parent\n  - child" in md
    assert "> quoted" in md
    assert "```python\nprint('<hi>')\nx = 1\n```" in md
    assert "[safe](<https://gov.example/a?b=1&c=2>) and evil" in md and "javascript" not in md
    assert "line one  \nline two" in md
    assert "\\# not a heading, \\*not emphasis\\*" in md
    assert "\n---\n" in md


def test_html_is_escaped_and_has_no_dangerous_links() -> None:
    html = to_html_fragment(read_tree(build()))
    assert "<ul><li><p>parent</p><ul><li><p>child</p></li></ul></li></ul>" in html
    assert "<blockquote><p>quoted</p></blockquote>" in html
    assert "<pre><code>print(&#x27;&lt;hi&gt;&#x27;)\nx = 1</code></pre>" in html
    assert '<a href="https://gov.example/a?b=1&amp;c=2" rel="noopener noreferrer">safe</a>' in html
    assert "javascript" not in html and "evil" in html
    assert "<p>line one<br>line two</p>" in html and "<hr>" in html


def test_docx_keeps_nesting_and_breaks() -> None:
    word = docx.Document(io.BytesIO(to_docx(read_tree(build()), "T")))
    styled = [(para.style.name, para.text) for para in word.paragraphs]
    assert ("List Bullet", "parent") in styled and ("List Bullet 2", "child") in styled
    assert ("Quote", "quoted") in styled
    assert ("Normal", "line one\nline two") in styled


def test_replace_content_copies_structure_and_marks() -> None:
    source = build()
    target: Doc = Doc()
    fragment_of(target).children.append(p("to be replaced"))
    replace_content(target, source)
    assert to_markdown(read_tree(target), "T") == to_markdown(read_tree(source), "T")
    assert str(fragment_of(target)) == str(fragment_of(source))
