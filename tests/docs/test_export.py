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


def rendered(doc: Doc) -> str:
    """The Markdown export as a CommonMark renderer shows it (markdown-it-py in CommonMark mode)."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark").render(to_markdown(read_tree(doc), "")))


def test_markdown_renders_as_written_in_commonmark() -> None:
    """Numbered lines stay text (`1\\.`, not `\\1.`), also after a line break; bold next to Chinese punctuation is
    bold; what looks like syntax stays text."""
    doc: Doc = Doc()
    root = fragment_of(doc)
    root.children.append(p("1. 会议决定：加固堤防"))
    broken = root.children.append(XmlElement("paragraph"))
    broken.children.append(XmlText("第一行"))
    broken.children.append(XmlElement("hardBreak"))
    broken.children.append(XmlText("2) 第二行"))
    broken.children.append(XmlElement("hardBreak"))
    broken.children.append(XmlText("- 不是列表 # 也不是标题"))
    bold = root.children.append(XmlElement("paragraph"))
    text = bold.children.append(XmlText())
    text.insert(0, "会议强调")
    text.insert(len(text), "“三个必须”", {"bold": True})
    text.insert(len(text), "，要")
    text.insert(len(text), "狠抓落实", {"bold": True})
    text.insert(len(text), "。")
    text.insert(len(text), "（重点）", {"italic": True})
    text.insert(len(text), "完")
    html = rendered(doc)
    assert "<ol" not in html and "<ul" not in html and "<h" not in html, html
    assert "<p>1. 会议决定：加固堤防</p>" in html
    assert "第一行<br />\n2) 第二行<br />\n- 不是列表 # 也不是标题" in html
    assert "会议强调<strong>“三个必须”</strong>，要<strong>狠抓落实</strong>。<em>（重点）</em>完" in html
    assert "\\" not in html
    md = to_markdown(read_tree(doc), "")
    assert "1\\. 会议决定" in md and "**狠抓落实**" in md
