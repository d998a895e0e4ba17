"""The escaping every face uses for text from papers and users."""

from paperqa.markup import escape_html, escape_markdown, unescape_markdown


def test_markdown_image_and_link_become_literal_text():
    out = escape_markdown("![t](http://host/x) and [link](http://evil)")
    assert "](" not in out and "![" not in out
    assert out == r"\!\[t\]\(http\:\/\/host\/x\) and \[link\]\(http\:\/\/evil\)"


def test_raw_html_and_table_pipes_are_neutralised():
    out = escape_markdown('<img src=x onerror="alert(1)"> | a\n# h')
    assert "<" not in out and ">" not in out and '"' not in out
    assert r"\|" in out and "\n" not in out and r"\#" in out


def test_plain_words_and_numbers_are_unchanged_apart_from_punctuation():
    assert escape_markdown("MOAT reaches 57 mIoU") == "MOAT reaches 57 mIoU"
    assert escape_markdown("57.6%") == r"57\.6\%"


def test_escape_html_quotes():
    assert escape_html('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"


def test_unescape_markdown_gives_the_literal_text_back():
    for text in ["57.6% mIoU", "MOAT: Alternating [1] <b>&amp;</b> ![x](y) a|b", "plain words 84", "&lt; \\ ` * _"]:
        assert unescape_markdown(escape_markdown(text)) == text
    assert unescape_markdown("57\\.6\\%") == "57.6%"
