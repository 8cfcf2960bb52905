"""RENDER: the Site through Jinja templates into page recipes.

Input: a Site and the project's templates/ and static/ folders. Output: one Recipe per page and
static file: its output path, its dependency key (deps.py) and how to render it, so pages whose
key did not change are never rendered. Autoescape is on for every template whatever its name,
undefined names are errors, and a template error names the template file and line.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from itertools import groupby
from pathlib import Path
from types import FunctionType, MethodType
from typing import Any

import jinja2
import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.runtime import BlockReference, Macro
from jinja2.utils import internalcode
from markupsafe import Markup, escape

from broadsheet import generator
from broadsheet.cache import digest_of
from broadsheet.deps import PAGE_TEMPLATES, Dependencies, analyse_templates, static_key
from broadsheet.errors import SourceLocation, TemplateError
from broadsheet.model import Digest, Recipe, Site
from broadsheet.sources import is_junk
from broadsheet.urls import Urls, output_path, safe_output_path

# template, url, context, key parts, weight (Recipe.weight)
PageSpec = tuple[str, str, dict[str, Any], tuple[Any, ...], int]


@dataclass(frozen=True)
class Pagination:
    """Where one page of a paginated listing sits among its siblings."""

    number: int  # 1-based
    total: int  # number of pages
    prev_url: str | None  # the newer page
    next_url: str | None  # the older page


def make_environment(templates: Path, bytecode: Path | None = None) -> jinja2.Environment:
    """Return the Jinja environment: autoescape always, StrictUndefined, our filters.

    One environment per templates folder and process, so repeated builds (serve) reuse the
    compiled templates. Each call starts a build: every template is read again when first
    used (TemplateFiles), and compiled ones whose text changed are dropped. `bytecode` names a
    folder where compiled templates are kept between processes.
    """
    key = (templates.resolve(), bytecode)
    env = _ENVIRONMENTS.get(key)
    if env is not None:
        assert isinstance(env.loader, TemplateFiles)
        env.loader.start_build(env)
        return env
    env = Environment(
        loader=TemplateFiles(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # TemplateFiles.start_build checks, once a build
        bytecode_cache=CompiledTemplates(bytecode) if bytecode else None,
        extensions=[FragmentCache],
    )
    env.filters["longdate"] = long_date
    env.filters["isodate"] = iso_date
    _ENVIRONMENTS[key] = env
    return env


_ENVIRONMENTS: dict[tuple[Path, Path | None], jinja2.Environment] = {}


class PageContext(jinja2.runtime.Context):
    """Jinja's context, with a quicker way to call what templates call most.

    Before every call (a macro, a URL, `self.title()`) Jinja looks for a `pass_context` mark
    on the callable with attribute look-ups that fail, which cost more than building a URL.
    A Python function keeps the mark in its `__dict__`, and Jinja's macros and blocks never
    have one: those are called straight away, anything else as Jinja does.
    """

    @internalcode
    def call(self, obj: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        function = obj.__func__ if type(obj) is MethodType else obj
        unmarked = type(obj) in (Macro, BlockReference) or (
            type(function) is FunctionType and "jinja_pass_arg" not in function.__dict__
        )
        if not unmarked:
            return super().call(obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return obj(*args, **kwargs)
        except StopIteration:  # as Jinja does
            return self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


def escape_output(value: Any) -> str:
    """What `{{ value }}` puts on a page: markupsafe's escape(), without making a Markup of
    every value (or a copy of every Markup) only for the page to join them. Text goes through
    markupsafe's own C function, a Markup as it is, anything else through escape()."""
    kind = type(value)
    if kind is str:
        return _escape_text(value)
    if kind is Markup:
        return value
    return escape(value)


_escape_text: Callable[[str], str] = getattr(
    markupsafe, "_escape_inner", lambda text: str(escape(text))
)


class PageCode(CodeGenerator):
    """Jinja's compiler, with escape_output around each value a template outputs where
    autoescape is known to be on as it compiles: everywhere but in an `{% autoescape %}`
    block that turns it off or leaves it to a variable, which Jinja compiles as it would.
    `_output_child_pre` is Jinja's own step for this (3.1, pinned in requirements.txt);
    test_escaping renders every kind of output both ways."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        self.writeline("from broadsheet.render import escape_output")
        super().visit_Template(node, frame)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("escape_output(")
        if finalize.src is not None:
            self.write(finalize.src)


class Environment(jinja2.Environment):
    """Jinja's environment, made quicker where every page pays.

    Jinja gives each template a ChainMap over the environment's globals, for globals of its
    own, which ours never have (nothing passes any to get_template): looking names up through
    it, twice a page and again at each `{% from ... import %}`, costs more than some pages'
    content. Calls go through PageContext; values output go through escape_output.
    """

    context_class = PageContext
    code_generator_class = PageCode

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return super().make_globals(d) if d else self.globals


class TemplateFiles(jinja2.FileSystemLoader):
    """The templates folder, read once per build: what a page's key is made from (deps.py) and
    what renders it are the same text, even if a file is saved while the build runs.

    Between builds, compiled templates are kept unless their text changed (by content, not by
    file time, which a copy or a quick second save can leave as it was). Editor leftovers and
    other dot-files (`.#base.html`, `base.html~`) are not templates.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._read: dict[str, tuple[str, str | None, Callable[[], bool]]] = {}

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        found = self._read.get(template)
        if found is None:
            if is_junk(template.rpartition("/")[2]):
                raise jinja2.TemplateNotFound(template)  # never read, so never a change either
            source, filename, _uptodate = super().get_source(environment, template)
            found = self._read[template] = (source, filename, lambda: True)
        return found

    def list_templates(self) -> list[str]:
        return [n for n in super().list_templates() if not is_junk(n.rpartition("/")[2])]

    def start_build(self, env: jinja2.Environment) -> None:
        """Forget what was read; drop the compiled templates whose text is not that any more."""
        previous, self._read = self._read, {}
        if env.cache is None:
            return
        for key, template in list(env.cache.items()):
            name = template.name or ""
            try:
                current = self.get_source(env, name)[0]
            except jinja2.TemplateNotFound:
                current = None
            if name not in previous or previous[name][0] != current:
                del env.cache[key]


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept in a folder between processes, each for its text and this copy
    of our code: what a `{% cache %}` block compiles to is FragmentCache's to say."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.code = digest_of(generator())

    def get_source_checksum(self, source: str) -> str:
        return digest_of(self.code, source)


class FragmentCache(Extension):
    """`{% cache article.slug, heading %}...{% endcache %}`: render a fragment once per build.

    A fragment shown on many pages (an article's card appears on its digest, its tag pages and
    the home page) is rendered the first time and reused for every later page with the same
    key in the same build. The key must name everything the fragment shows that is not the
    same on every page: strings and numbers only. The template's name and line are added, so
    two cache blocks never share entries. Every build starts with an empty cache.
    """

    tags = frozenset({"cache"})

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        self.fragments: dict[tuple[Any, ...], str] = {}
        environment.extend(fragment_cache=self.fragments)  # emptied as each build starts

    def parse(self, parser: Any) -> list[nodes.Node]:
        lineno = next(parser.stream).lineno
        parts: list[nodes.Expr] = [nodes.Const(parser.name), nodes.Const(lineno)]
        parts.append(parser.parse_expression())
        while parser.stream.skip_if("comma"):
            parts.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        # Plain statements rather than a call block, which would make a Macro of the body on
        # every page: a fragment already rendered costs one lookup. In Python:
        #   key = (name, line, *parts); text = fragments[key], undefined if missing
        #   if text is undefined: check the key, render the body into text, keep it
        #   output text
        key, text = parser.free_identifier(lineno), parser.free_identifier(lineno)
        render = [
            nodes.ExprStmt(self.call_method("_check", [key])),
            nodes.AssignBlock(text, None, body),
            nodes.ExprStmt(self.call_method("_keep", [key, text])),
        ]
        statements = [
            nodes.Assign(key, nodes.Tuple(parts, "load")),
            nodes.Assign(text, nodes.Getitem(self.attr("fragments"), key, "load")),
            nodes.If(nodes.Test(text, "undefined", [], [], None, None), render, [], []),
            nodes.Output([text]),
        ]
        return [statement.set_lineno(lineno) for statement in statements]

    def _check(self, key: tuple[Any, ...]) -> None:
        for part in key[2:]:
            if not isinstance(part, str | int | float | bool | None):
                kind = type(part).__name__
                raise TypeError(f"a cache key is made of strings and numbers, not {kind}")

    def _keep(self, key: tuple[Any, ...], text: str) -> None:
        self.fragments[key] = Markup(text) if self.environment.autoescape else text


def iso_date(value: date | datetime) -> str:
    """A date or time as RFC 3339 wants it (feeds, `<time datetime>`): a time zone's offset in
    whole minutes; the rare historical one with seconds (1930 Amsterdam, +00:19:32) goes to UTC."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is not None and offset.seconds % 60:
            value = value.astimezone(UTC)
    return value.isoformat()


def long_date(value: date | datetime) -> str:
    """Format a date as '2 December 2025', in English whatever the locale."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def prepare_templates(env: jinja2.Environment, store: Path | None = None) -> None:
    """Compile every page template and analyse it for deps.py (`store` keeps what is known of
    them), ahead of the build's use of them: a full build does it while a worker parses the
    content, and the render helper inherits the compiled templates instead of compiling its
    own. What fails here fails again where the build uses it, and is reported there."""
    names = env.list_templates(extensions=PAGE_TEMPLATES)
    analyse_templates(env, names, store)
    for name in names:
        with contextlib.suppress(jinja2.TemplateError, OSError, ValueError):
            env.get_template(name)


def render_site(
    site: Site, env: jinja2.Environment, deps: Dependencies, drafts: bool = False
) -> list[Recipe]:
    """Return a recipe for every HTML page of the site."""
    urls = Urls(site.config)
    env.globals.update(site=site, config=site.config, urls=urls, drafts=drafts)
    env.fragment_cache.clear()  # type: ignore[attr-defined]  # fragments of this build only
    pages = []
    for template, url, context, parts, weight in _pages(site, urls, deps):
        key = deps.key(template, *parts)
        path = output_path(url, urls)
        pages.append(page_recipe(env, path, key, (template, parts), url, context, weight))
    return pages


def page_recipe(
    env: jinja2.Environment,
    path: str,
    key: str,
    inputs: tuple[str, tuple[Any, ...]],
    url: str,
    context: dict[str, Any],
    weight: int = 1,
) -> Recipe:
    """The recipe of one page: its template (`inputs` names it) rendered at `url`."""
    return Recipe(path, key, partial(_render, env, inputs[0], url, context), inputs, weight)


def page_parts(
    recipe: Recipe,
) -> tuple[str, str, tuple[str, tuple[Any, ...]], str, dict[str, Any], int]:
    """What page_recipe made `recipe` from, but its Jinja environment: path, key, inputs, url,
    context and weight."""
    make = recipe.make
    assert isinstance(make, partial) and recipe.inputs is not None  # a page's recipe
    _env, _template, url, context = make.args
    return recipe.path, recipe.key, recipe.inputs, url, context, recipe.weight


def dependencies(
    site: Site, env: jinja2.Environment, drafts: bool, store: Path | None = None
) -> Dependencies:
    """Return this build's dependency keys, naming a template that does not parse. `store`
    keeps what was learnt of the templates between builds."""
    try:
        return Dependencies(site, env, drafts, store)
    except jinja2.TemplateSyntaxError as exc:
        where = SourceLocation(f"templates/{exc.name}", exc.lineno)
        raise TemplateError(f"template syntax error: {exc.message}", where) from exc


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render one template to text, turning Jinja's errors into a TemplateError with a line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = SourceLocation(f"templates/{exc.name or name}", exc.lineno)
        raise TemplateError(f"template syntax error: {exc.message}", where) from exc
    except jinja2.TemplateNotFound as exc:
        where = SourceLocation(f"templates/{name}")
        raise TemplateError(f"template not found: {exc.name}", where) from exc
    except Exception as exc:  # a template's own runtime error: name its line, keep the cause
        raise TemplateError(f"error while rendering: {exc}", _template_frame(exc, name)) from exc


def _template_frame(exc: BaseException, name: str) -> SourceLocation:
    """Find the innermost template line in a rendering traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".html", ".xml")):
            return SourceLocation(f"templates/{Path(frame.filename).name}", frame.lineno)
    return SourceLocation(f"templates/{name}")


def _render(env: jinja2.Environment, template: str, url: str, context: dict[str, Any]) -> bytes:
    return render_template(env, template, page_url=url, **context).encode("utf-8")


def _pages(site: Site, urls: Urls, deps: Dependencies) -> Iterator[PageSpec]:
    """Yield every HTML page: its template, URL, context, what its key is made of, and
    about how many articles (or digests, or tags) it shows."""
    yield from _home_pages(site, urls, deps)
    for digest in site.digests:
        prev, next_ = site.digest(digest.prev_id), site.digest(digest.next_id)
        parts = (deps.digest(digest), deps.digest(prev), deps.digest(next_))
        context = {"digest": digest, "prev": prev, "next": next_}
        yield "digest.html", urls.digest(digest), context, parts, len(digest.articles)
    for article in site.articles:
        digest = site.digest(site.digest_of.get(article.slug))
        parts = (deps.article(article), deps.digest(digest))
        context = {"article": article, "digest": digest}
        yield "article.html", urls.article(article), context, parts, 1
    counts = [(tag, len(site.tag_articles[tag.slug])) for tag in site.tags]
    parts = tuple((tag.name, tag.slug, count) for tag, count in counts)
    yield "tags.html", urls.file("tags/"), {"tags": counts}, parts, len(counts)
    yield from _tag_pages(site, urls, deps)
    summaries = tuple(map(deps.digest, site.digests))
    years = archive_groups(site.digests)
    yield "archive.html", urls.file("archive/"), {"years": years}, summaries, len(summaries)
    for page in site.pages:
        yield "page.html", urls.page(page), {"page": page}, (page.fingerprint,), 1
    yield "404.html", urls.file("404.html"), {}, (), 1


def _home_pages(site: Site, urls: Urls, deps: Dependencies) -> Iterator[PageSpec]:
    """The latest digest in full, then the others listed, home_digests to a page."""
    size = site.config.home_digests
    older = site.digests[1:]
    chunks = [older[i : i + size] for i in range(0, len(older), size)] or [()]
    for number, chunk in enumerate(chunks, start=1):
        pager = _pager(number, len(chunks), urls.home)
        latest = site.digests[0] if number == 1 and site.digests else None
        context = {"latest": latest, "digests": chunk, "pagination": pager}
        listed = tuple(map(deps.digest, chunk))
        parts = (deps.digest(latest) if latest else (), listed, number, len(chunks))
        shown = len(latest.articles) if latest else 0
        yield "index.html", urls.home(number), context, parts, shown + len(chunk)


def _tag_pages(site: Site, urls: Urls, deps: Dependencies) -> Iterator[PageSpec]:
    size = site.config.tag_page_size
    for tag in site.tags:
        articles = site.tag_articles[tag.slug]
        chunks = [articles[i : i + size] for i in range(0, len(articles), size)]
        for number, chunk in enumerate(chunks, start=1):
            pager = _pager(number, len(chunks), partial(urls.tag, tag))
            context = {"tag": tag, "articles": chunk, "pagination": pager, "count": len(articles)}
            shown = tuple(map(deps.article, chunk))
            parts = (tag.name, tag.slug, shown, number, len(chunks), len(articles))
            yield "tag.html", urls.tag(tag, number), context, parts, len(chunk)


def _pager(number: int, total: int, url_for: Callable[[int], str]) -> Pagination:
    return Pagination(
        number,
        total,
        url_for(number - 1) if number > 1 else None,
        url_for(number + 1) if number < total else None,
    )


def archive_groups(digests: Sequence[Digest]) -> list[tuple[int, list[tuple[date, list[Digest]]]]]:
    """Group digests (newest first) by year, then by month."""
    years = []
    for year, in_year in groupby(digests, key=lambda d: d.start.year):
        months = [
            (date(year, month, 1), list(in_month))
            for month, in_month in groupby(in_year, key=lambda d: d.start.month)
        ]
        years.append((year, months))
    return years


def render_static(folder: Path) -> list[Recipe]:
    """Copy every file of static/ (editor junk left out) to static/ in the output."""
    if not folder.is_dir():
        return []
    recipes = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not any(is_junk(p) for p in relative.parts):
            target = safe_output_path(f"static/{relative.as_posix()}")
            data = path.read_bytes()
            recipes.append(Recipe(target, static_key(target, data), partial(bytes, data)))
    return recipes
