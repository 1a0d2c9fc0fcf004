"""The detail pane's own styling (inbox/widgets/detail_text.py): the text an operator reads is
exactly the agent's (markup stays characters), with the Markdown marks turned into styles."""

from __future__ import annotations

from inbox.text import readable
from inbox.widgets.detail_text import code_text, inline_text, markdown_text


def styles_of(text, word: str) -> set[str]:
    start = text.plain.index(word)
    return {str(span.style) for span in text.spans if span.start <= start < span.end}


def test_markdown_marks_become_styles_and_the_words_stay():
    text = markdown_text("**SQL** that *writes* to `billing`:\n\n```sql\nUPDATE t SET a = 'x'\n```\n\n"
                         "- one\n- two\n  more\n\n> a problem\n\n# Heading\n\n[docs](https://example.test/a)")
    assert text.plain == ("SQL that writes to billing:\n\nUPDATE t SET a = 'x'\n\n • one\n • two more\n\n"
                          "▌ a problem\n\nHeading\n\ndocs (https://example.test/a)")
    assert "bold" in styles_of(text, "SQL") and "italic" in styles_of(text, "writes")
    assert "bold cyan" in styles_of(text, "billing")
    assert "bright_blue" in styles_of(text, "UPDATE") and "yellow" in styles_of(text, "'x'")


def test_paragraph_lines_are_joined_and_identifiers_keep_their_underscores():
    text = markdown_text("keep my_var_name and\nsnake_case_too")
    assert text.plain == "keep my_var_name and snake_case_too"
    assert not any("italic" in str(span.style) for span in text.spans)


def test_agent_markup_is_shown_literally():
    hostile = "[bold red]PWNED[/] and [link=http://x]y[/link]"
    assert inline_text(hostile).plain == hostile
    assert markdown_text(hostile).plain == hostile
    code, lexer = readable({"note": hostile})
    assert code_text(code, lexer).plain == code and hostile in code


def test_json_and_yaml_tokens():
    code, lexer = readable({"to": "a@b.c", "n": -3.5, "ok": True, "x": None, "list": [1, "two"]})
    text = code_text(code, lexer)
    assert text.plain == code and lexer == "json"
    assert "bright_blue" in styles_of(text, '"to"') and "yellow" in styles_of(text, '"a@b.c"')
    assert "bright_blue" in styles_of(text, "-3.5") and "bright_blue" in styles_of(text, "true")
    code, lexer = readable({"subject": "Hi", "body": "line one\nline two: not a key"})
    text = code_text(code, lexer)
    assert lexer == "yaml" and text.plain == code
    assert "yellow" in styles_of(text, "line two: not a key") and "bright_blue" in styles_of(text, '"body"')
