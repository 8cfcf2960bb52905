"""What a template outputs is escaped exactly as Jinja and markupsafe escape it, through the
quicker path our compiled templates take (render.escape_output, render.PageCode)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup, escape

from broadsheet import render

HOSTILE = [
    "",
    "plain words",
    "<script>alert('x')</script>",
    "\"quoted\" & 'single' <b>",
    "&amp; already an entity",
    "caf\u00e9 \u2014 \U0001f4f0 \x00 \u2028",
]


class Html:
    """An object that says what its HTML is, as Markup does."""

    def __html__(self) -> str:
        return "<em>trusted</em>"


class Text(str):
    """A str subclass: escaped as text, not taken as it is."""


@pytest.mark.parametrize(
    "value",
    [*HOSTILE, *map(Markup, HOSTILE), Text("<i>"), 12, 3.5, True, None, Html(), ["<li>"]],
)
def test_escape_output_is_markupsafes_escape(value: object) -> None:
    assert render.escape_output(value) == str(escape(value))


TEMPLATES = {
    "_macros.html": (
        "{% macro card(item) %}<b>{{ item.title }}</b>{{ caller() if caller is defined }}{% endmacro %}"
    ),
    "page.html": """{% from "_macros.html" import card %}
{{ title }}|{{ title | safe }}|{{ title | upper }}|{{ "<const>" }}|{{ number }}|{{ html }}
{{ title ~ number }}|{{ markup }}|{{ markup ~ title }}|{{ items | join(", ") }}
{% set block %}<i>{{ title }}</i>{% endset %}{{ block }}|{{ block | length }}
{{ card(item) }}|{% call card(item) %}{{ title }}{% endcall %}
{% filter lower %}{{ title }}<HR>{% endfilter %}
{% for x in items %}{{ loop.index }}{{ x }}{% endfor %}
{% autoescape false %}{{ title }}{{ markup }}{% endautoescape %}|{{ title }}
{% autoescape flag %}{{ title }}{{ markup }}{{ card(item) }}{% endautoescape %}
{% block tail %}{{ title }}{% endblock %}|{{ self.tail() }}
""",
}


def test_templates_render_as_jinja_renders_them(tmp_path: Path) -> None:
    for name, text in TEMPLATES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ours = render.make_environment(tmp_path)
    stock = jinja2.Environment(
        loader=jinja2.FileSystemLoader(tmp_path),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    assert ours.code_generator_class is render.PageCode
    for title, flag in zip(HOSTILE, [True, False] * len(HOSTILE), strict=False):
        context = {
            "flag": flag,  # autoescape decided as the page renders
            "title": title,
            "number": 7,
            "html": Html(),
            "markup": Markup("<p>kept</p>"),
            "items": [title, "<two>"],
            "item": {"title": title},
        }
        expected = stock.get_template("page.html").render(context)
        assert ours.get_template("page.html").render(context) == expected
        assert "escape_output" in ours.get_template("page.html").root_render_func.__code__.co_names
        if "<script>" in title:
            assert "&lt;script&gt;" in expected and "<script>" in expected  # both ways shown


def test_an_undefined_value_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>{{ missing }}</p>", encoding="utf-8")
    env = render.make_environment(tmp_path)
    with pytest.raises(jinja2.UndefinedError, match="'missing' is undefined"):
        env.get_template("page.html").render()
