"""Dependency keys: a short hash of everything one output file is made from.

A page's key combines the fingerprints of the templates it uses (followed through extends,
include and import), the site-wide values every page shows (config, navigation), and the
articles, digests and tags that page displays. When the key is unchanged the previous file is
kept without rendering. If a template reaches into `site` for more than we track (say, a list of
all articles on every page), every page depends on the whole site, so nothing goes stale.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from broadsheet import __version__
from broadsheet.cache import digest_of, file_digest, generator, replace_file
from broadsheet.model import Article, Digest, Site

TRACKED_SITE_ATTRIBUTES = frozenset({"pages", "config"})  # already part of every key
PAGE_TEMPLATES = ("html", "xml", "txt")  # what templates/ files that make output end with


class Dependencies:
    """Keys for the outputs of one build."""

    def __init__(
        self, site: Site, env: jinja2.Environment, drafts: bool, store: Path | None = None
    ) -> None:
        self.env = env
        self._templates: dict[str, str] = {}
        self._analyses = _Analyses(store)
        self._article_keys: dict[str, str] = {}  # by slug, unique within a build
        self._digest_keys: dict[str, str] = {}  # by digest id
        pages = tuple((p.slug, p.title, p.fingerprint) for p in site.pages)
        self.whole_site = self._uses_whole_site()  # then every page depends on every article
        self._analyses.save()
        everything = self._site_key(site) if self.whole_site else ""
        self.common = digest_of(generator(), repr(site.config), drafts, pages, everything)

    def __getstate__(self) -> dict[str, Any]:
        """What a kept plan holds (snapshot.py): all but the Jinja environment, which the
        build that loads it supplies."""
        return {**vars(self), "env": None}

    def key(self, template: str, *parts: Any) -> str:
        """The key of an output made with `template` from `parts`."""
        return digest_of(self.common, self.template(template), parts)

    def article(self, article: Article) -> str:
        """article_key, worked out once per article and build."""
        key = self._article_keys.get(article.slug)
        if key is None:
            key = self._article_keys[article.slug] = article_key(article)
        return key

    def refresh(self, articles: Iterable[Article], digests: Iterable[Digest]) -> None:
        """Work the keys of these (edited) articles and digests out again when next asked."""
        for article in articles:
            self._article_keys.pop(article.slug, None)
        for digest in digests:
            self._digest_keys.pop(digest.id, None)

    def digest(self, digest: Digest | None) -> str:
        """What a digest contributes to any page given it, once per digest and build. A page
        given the Digest object can reach all of it (its articles too), so the key covers all."""
        if digest is None:
            return ""
        key = self._digest_keys.get(digest.id)
        if key is None:
            articles = tuple(map(self.article, digest.articles))
            key = digest_of(digest_summary(digest), digest.intro_html, articles)
            self._digest_keys[digest.id] = key
        return key

    def _site_key(self, site: Site) -> str:
        """A key for the whole site's content."""
        return digest_of(
            tuple(map(self.digest, site.digests)), tuple(map(self.article, site.articles))
        )

    def plain(self, *parts: Any) -> str:
        """The key of an output made without templates."""
        return digest_of(self.common, parts)

    def template(self, name: str) -> str:
        """Fingerprint of a template and every template it pulls in (a missing one, such as
        an `include ... ignore missing`, counts as missing: adding it changes the key)."""
        if name not in self._templates:
            sources = [(n, _source(self.env, n)) for n in sorted(self._closure(name))]
            self._templates[name] = digest_of(tuple(sources))
        return self._templates[name]

    def _closure(self, name: str) -> set[str]:
        """The template and everything it extends, includes or imports; all if unknowable."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            for ref in self._analysis(current)[0]:
                if ref is None:  # a name computed at run time: depend on every template
                    return set(self.env.list_templates())
                todo.append(ref)
        return seen

    def _uses_whole_site(self) -> bool:
        """Tell whether a template reads `site` beyond what every key already covers: the
        page templates and everything they pull in, whatever its file name ends with."""
        names = self.env.list_templates(extensions=PAGE_TEMPLATES)
        reachable = set().union(*map(self._closure, names))
        return any(self._analysis(name)[1] for name in reachable)

    def _analysis(self, name: str) -> Analysis:
        """What a template references and whether it reads the whole site, from its source."""
        source = _source(self.env, name)
        if source is None:
            return [], False  # missing: rendering says so where it matters
        return self._analyses.get(name, source, self.env)


Analysis = tuple[list[str | None], bool]  # templates referenced (None: computed), reads `site`


class _Analyses:
    """Templates' analyses by name and source: parsing a dozen templates costs more than a
    small build, so what was found is kept in .cache/ (`store`) and in this process."""

    def __init__(self, store: Path | None) -> None:
        self.store = store
        self.known: dict[str, Analysis] = {}
        self.added = False
        if store is not None:
            try:
                data = json.loads(store.read_text(encoding="utf-8"))
                if data.get("version") == __version__ and isinstance(data["templates"], dict):
                    self.known = {k: (list(v[0]), bool(v[1])) for k, v in data["templates"].items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
                self.known = {}

    def get(self, name: str, source: str, env: jinja2.Environment) -> Analysis:
        key = digest_of(name, source)
        found = self.known.get(key) or _ANALYSED.get(key)
        if found is None:
            found = _analyse(env.parse(source, name))
        if key not in self.known:
            self.known[key] = _ANALYSED[key] = found
            self.added = True
        return found

    def save(self) -> None:
        """Keep what this build found; failing to only costs the next build time."""
        if self.store is None or not self.added:
            return
        document = {"version": __version__, "templates": self.known}
        with contextlib.suppress(OSError):  # read-only project: the next build parses again
            replace_file(self.store, json.dumps(document, sort_keys=True).encode("utf-8"))


_ANALYSED: dict[str, Analysis] = {}  # by digest_of(name, source), for serve's many builds


def analyse_templates(
    env: jinja2.Environment, names: Iterable[str], store: Path | None = None
) -> None:
    """Analyse the templates `names` not known in `store` ahead of Dependencies, which then
    finds them done (and keeps them). One that does not parse is left for it to report."""
    analyses = _Analyses(store)
    for name in names:
        with contextlib.suppress(jinja2.TemplateSyntaxError, OSError, ValueError):
            source = _source(env, name)  # unreadable, not UTF-8: the build says so later
            if source is not None:
                analyses.get(name, source, env)


def _analyse(tree: nodes.Template) -> Analysis:
    refs = list(meta.find_referenced_templates(tree))
    for parent, node in _walk(tree):
        reads_site = isinstance(node, nodes.Name) and node.name == "site" and node.ctx == "load"
        tracked = isinstance(parent, nodes.Getattr) and parent.attr in TRACKED_SITE_ATTRIBUTES
        if reads_site and not tracked:
            return refs, True
    return refs, False


# Keys are made of plain strings, numbers, dates and tuples: their repr is fast and stable; an
# article's or a digest's part is itself a short hash, so a page listing twenty stays small.
def article_key(article: Article) -> str:
    """What an article contributes to any page that shows it."""
    tags = tuple((t.name, t.slug) for t in article.tags)
    return digest_of(article.slug, article.fingerprint, tags)  # two copies of a file differ


def digest_summary(digest: Digest | None) -> tuple[Any, ...]:
    """What a digest contributes to a page that only links to it."""
    if digest is None:
        return ()
    return (digest.id, digest.number, digest.title, digest.start, digest.end, len(digest.articles))


def static_key(path: str, data: bytes) -> str:
    """The key of a static file: its bytes."""
    return digest_of(path, file_digest(data))


def _walk(
    node: nodes.Node, parent: nodes.Node | None = None
) -> Iterator[tuple[nodes.Node | None, nodes.Node]]:
    yield parent, node
    for child in node.iter_child_nodes():
        yield from _walk(child, node)


def _source(env: jinja2.Environment, name: str) -> str | None:
    """A template's text, or None if there is no such template."""
    assert env.loader is not None
    try:
        source, _filename, _uptodate = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        return None
    return source
