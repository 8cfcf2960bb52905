"""Hostile content: front matter, file encodings and names, junk, links, slugs and tags.

Each case asserts the exact outcome: the exit code, every message with its file and line, and
what was (or was not) published. Nothing is dropped silently and nothing escapes site/.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

import broadsheet.content
from broadsheet.errors import OutputError
from broadsheet.urls import Urls, output_path, safe_output_path
from tests.conftest import REPO, article
from tests.sitecheck import manifest

A = "content/articles/2025-12-02-x.md"
OK = "content/articles/2025-12-01-ok.md"
GOOD = article("Fine", "2025-12-01T09:00:00+00:00")


def built_ok(run) -> None:
    """The build succeeded and printed nothing but its summary line."""
    assert run.code == 0, run.err
    assert run.err.startswith("built ") and run.err.count("\n") == 1, run.err


# --- front matter -------------------------------------------------------------------------

DEEP_FLOW = "x: " + "[" * 1000 + "]" * 1000
FRONT_MATTER = [
    (
        "title: !!python/object/apply:os.system ['touch pwned']\ndate: 2025-12-02",
        f"{A}:2: YAML tag !!python/object/apply:os.system is not allowed",
    ),
    ("title: !!python/name:os.system\ndate: 2025-12-02", f"{A}:2: YAML tag"),
    ("date: 2025-12-02\ntitle: !!binary aGk=", f"{A}:3: YAML tag !!binary is not allowed"),
    ("date: 2025-12-02\ntitle: !!set {a, b}", f"{A}:3: YAML tag !!set is not allowed"),
    ("date: 2025-12-02\ntitle: !local x", f"{A}:3: YAML tag !local is not allowed"),
    ("base: &b {a: 1}\nextra:\n  <<: *b", f"{A}:2: YAML anchors and aliases are not allowed"),
    (
        "title: T\ndate: 2025-12-02\nsummary: S\ntitle: Again",
        f"{A}:5: duplicate key 'title' (first on line 2)",
    ),
    ("title: T\nsummary: '" + "x" * 70_000 + "'", f"{A}:2: front matter is larger than 64 KiB"),
    (DEEP_FLOW, f"{A}:2: front matter is nested deeper than 20 levels"),
    ("- title\n- date", f"{A}:2: front matter must be a mapping of 'key: value' lines"),
    ("just a sentence", f"{A}:2: front matter must be a mapping of 'key: value' lines"),
    ("'quoted'", f"{A}:2: front matter must be a mapping of 'key: value' lines"),
    ("[a, b]: x\ntitle: T", f"{A}:2: keys must be plain words"),
]


@pytest.mark.parametrize(("front", "message"), FRONT_MATTER)
def test_hostile_front_matter_is_refused_with_its_line(
    make_site, cli, tmp_path: Path, front: str, message: str
) -> None:
    root = make_site({OK: GOOD, A: f"---\n{front}\n---\nBody.\n"})
    run = cli(root)
    assert run.code == 1
    assert run.err.startswith(message), run.err
    assert run.err.count("\n") == 1, run.err
    assert not (root / "pwned").exists() and not (tmp_path / "pwned").exists()
    assert not (root / "site").exists()


BILLION_LAUGHS = "\n".join(
    [f'a0: &a0 ["{"lol" * 10}"]']
    + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]
)


def _small_memory() -> None:
    limit = 512 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize(
    ("front", "message"),
    [
        (BILLION_LAUGHS, f"{A}:2: YAML anchors and aliases are not allowed"),
        ("x: " + "[" * 30_000 + "]" * 30_000, f"{A}:2: front matter is nested deeper than 20"),
        ("x: " + "{a: " * 10_000 + "1" + "}" * 10_000, f"{A}:2: front matter is nested deeper"),
    ],
    ids=["billion-laughs", "deep-sequence", "deep-mapping"],
)
def test_explosive_front_matter_fails_fast_in_small_memory(
    make_site, front: str, message: str
) -> None:
    """In a child process with 512 MiB of address space: a crash or a hang fails the test."""
    root = make_site({A: f"---\n{front}\ntitle: T\ndate: 2025-12-02\n---\n"})
    child = subprocess.run(
        [sys.executable, str(REPO / "build.py")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=10,
        preexec_fn=_small_memory,
        check=False,
    )
    assert child.returncode == 1, child.stderr
    assert child.stderr.startswith(message), child.stderr
    assert not (root / "site").exists()


def test_body_with_fence_lines_is_kept_whole(make_site, cli) -> None:
    body = "Intro.\n\n---\n\nMiddle part.\n---\ntitle: not front matter\n...\nEnd part."
    root = make_site({A: article("T", body=body)})
    built_ok(cli(root))
    page = (root / "site/articles/x/index.html").read_text()
    for text in ("Intro.", "<hr>", "Middle part.", "title: not front matter", "End part."):
        assert text in page


# --- files --------------------------------------------------------------------------------

CP1252 = "---\ntitle: T\ndate: 2025-12-02\nsummary: \u201cquoted\u201d\n---\n".encode("cp1252")
FILES = [
    (b"", f"{A}:1: no front matter (the file must start with a '---' line)"),
    (b"  \n\n\t\n", f"{A}:1: no front matter (the file must start with a '---' line)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", f"{A}:1: not valid UTF-8 (byte 0x89)"),
    (b"---\ntitle: T\x00\n---\n", f"{A}:2: file contains a NUL byte (is it binary?)"),
    ("---\ntitle: T\n---\n".encode("utf-16"), f"{A}: file is UTF-16; save it as UTF-8"),
    ("---\ntitle: T\n".encode("utf-16-le"), f"{A}:1: file contains a NUL byte"),
    (CP1252, f"{A}:4: not valid UTF-8 (byte 0x93); save the file as UTF-8"),
    (CP1252.replace(b"\n", b"\r"), f"{A}:4: not valid UTF-8 (byte 0x93)"),
    (b"---\r\ntitle: T\r\x00\n---\n", f"{A}:3: file contains a NUL byte"),
    (b"---\rtitle: T\rdate: 02/12/2025\r---\r", f"{A}:3: 'date' must look like 2025-12-02"),
    (b"---\r\ntitle: T\rdate: x\n---\n", f"{A}:3: 'date' must look like 2025-12-02"),
]


@pytest.mark.parametrize(("data", "message"), FILES)
def test_broken_file_is_an_error_naming_it(make_site, cli, data: bytes, message: str) -> None:
    root = make_site({OK: GOOD, A: data})
    run = cli(root)
    assert run.code == 1
    assert run.err.startswith(message), run.err
    assert run.err.count("\n") == 1, run.err


@pytest.mark.parametrize("newline", ["\r\n", "\r", "mixed"])
def test_line_endings_build_exactly_like_lf(make_site, cli, tmp_path: Path, newline: str) -> None:
    text = article("T", tags="[world]", body="One.\n\nTwo\nlines.\n\n- a\n- b")
    lines = text.split("\n")
    if newline == "mixed":
        data = "".join(line + ("\r\n", "\r", "\n")[i % 3] for i, line in enumerate(lines[:-1]))
    else:
        data = newline.join(lines)
    lf = make_site({A: text}, folder="lf")
    other = make_site({A: data.encode()}, folder="other")
    built_ok(cli(lf))
    built_ok(cli(other))
    assert without_marker(manifest(other / "site")) == without_marker(manifest(lf / "site"))


def without_marker(files: dict[str, str]) -> dict[str, str]:
    """A site's files but the marker, whose manifest keys name the sources' bytes."""
    return {name: digest for name, digest in files.items() if name != ".broadsheet-site"}


def test_nfc_and_nfd_spellings_of_one_name_are_a_collision_naming_both(make_site, cli) -> None:
    nfc = unicodedata.normalize("NFC", "content/articles/2025-12-02-café.md")
    nfd = unicodedata.normalize("NFD", nfc)
    root = make_site({nfc: article("One"), nfd: article("Two")})
    run = cli(root)
    assert run.code == 1
    assert run.err == f"{nfc}:2: slug 'cafe' is already used by {nfd}; set a different 'slug'\n"


JUNK = ["._x.md", ".#x.md", "x.md~", ".x.md.swp", ".DS_Store", "#x.md#", "x.md.orig", "~$x.md"]


def test_editor_junk_is_ignored_and_never_published(make_site, cli) -> None:
    hostile = article("JUNK TITLE", body="JUNK BODY")
    files = {OK: GOOD}
    clean = make_site(files, folder="clean")
    for folder in ("content/articles", "content/pages", "content/digests", "static", "static/css"):
        files.update({f"{folder}/{name}": hostile for name in JUNK})
    files["content/articles/._2025-12-02-apple.md"] = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"
    root = make_site(files)
    built_ok(cli(root))
    built_ok(cli(clean))
    assert manifest(root / "site") == manifest(clean / "site")


def test_unreadable_file_is_an_error_naming_it(make_site, cli, monkeypatch) -> None:
    """Root reads any file, so the refusal is simulated where content.py reads files."""
    root = make_site({OK: GOOD, A: article()})
    real = broadsheet.content.read_bytes

    def denied(path: str) -> bytes:
        if path.endswith(Path(A).name):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(broadsheet.content, "read_bytes", denied)
    run = cli(root, "--no-cache")
    assert run.code == 1
    assert run.err == f"{A}: cannot read file (Permission denied)\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_an_error_naming_it(make_site, cli) -> None:
    root = make_site({OK: GOOD, A: article()})
    (root / A).chmod(0)
    run = cli(root)
    assert run.code == 1
    assert run.err == f"{A}: cannot read file (Permission denied)\n"


def test_folder_named_like_an_article_is_reported_not_silently_skipped(make_site, cli) -> None:
    root = make_site({OK: GOOD, f"{A}/inner.md": article()})
    run = cli(root)
    assert run.code == 0
    assert f"{A}: warning: skipped: not a regular file\n" in run.err
    assert cli(root, "--strict").code == 1


@pytest.mark.parametrize("name", ["Story.MD", "story.markdown", "notes.txt"])
def test_a_file_that_is_not_md_is_reported_not_silently_skipped(make_site, cli, name: str) -> None:
    other = f"content/articles/2025-12-02-{name}"
    root = make_site({OK: GOOD, other: article()})
    run = cli(root)
    assert run.code == 0
    assert f"{other}: warning: skipped: not a .md file; only .md files are read\n" in run.err
    assert cli(root, "--strict").code == 1


@pytest.mark.parametrize(
    ("make_link", "problem"),
    [
        (lambda p, out: p.symlink_to(out / "secret.md"), "symbolic link points outside content/"),
        (lambda p, out: p.symlink_to(p), "symbolic link is broken or loops"),
        (
            lambda p, out: p.symlink_to(p.with_name("nowhere.md")),
            "symbolic link is broken or loops",
        ),
    ],
    ids=["outside", "loop", "dangling"],
)
def test_symlinks_out_of_content_or_looping_are_skipped_with_a_warning(
    make_site, cli, tmp_path: Path, make_link, problem: str
) -> None:
    (tmp_path / "secret.md").write_text(article("SECRET TITLE", body="SECRET BODY"))
    root = make_site({OK: GOOD})
    make_link(root / A, tmp_path)
    run = cli(root)
    assert run.code == 0
    assert run.err.startswith(f"{A}: warning: skipped: {problem}\n"), run.err
    for data in manifest(root / "site"):
        assert "SECRET" not in (root / "site" / data).read_text(errors="replace")
    assert cli(root, "--strict").code == 1


def test_content_folder_linked_outside_is_skipped_with_a_warning(
    make_site, cli, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret.md").write_text("---\ntitle: SECRET PAGE\n---\nSECRET\n")
    root = make_site({OK: GOOD})
    (root / "content/pages").symlink_to(tmp_path / "elsewhere")
    run = cli(root)
    assert run.code == 0
    assert "content/pages: warning: skipped: symbolic link points outside content/\n" in run.err
    assert not (root / "site/secret").exists()


# --- slugs and tags -----------------------------------------------------------------------

BAD_SLUGS = ["'../../etc/x'", "'/abs'", "'%2e%2e/x'", "'..\\x'", '"a\\0b"', "'Tags'", "'a b'"]


@pytest.mark.parametrize("slug", BAD_SLUGS)
@pytest.mark.parametrize("kind", ["article", "page"])
def test_hostile_slug_is_refused_with_its_line(make_site, cli, slug: str, kind: str) -> None:
    if kind == "article":
        path, text = A, article("T", slug=slug)
    else:
        path, text = "content/pages/about.md", f"---\ntitle: About\nslug: {slug}\n---\nText.\n"
    root = make_site({OK: GOOD, path: text})
    run = cli(root)
    line = 4 if kind == "article" else 3
    value = {"'..\\x'": "..\\x", '"a\\0b"': "a\x00b"}.get(slug, slug.strip("'"))
    assert run.code == 1
    assert run.err == (
        f"{path}:{line}: 'slug' must be lowercase letters, digits and hyphens (at most 80),"
        f" got {value!r}\n"
    )


RESERVED = ["tags", "404", "index", "cname", "CNAME", "page", "static", "articles"]


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names_are_refused_as_page_slugs(make_site, cli, name: str) -> None:
    path = f"content/pages/{name}.md"
    root = make_site({OK: GOOD, path: "---\ntitle: P\n---\nText.\n"})
    run = cli(root)
    assert run.code == 1
    assert run.err == (
        f"{path}:1: page slug '{name.lower()}' is reserved for the site's own pages;"
        " choose another\n"
    )


@pytest.mark.parametrize("name", ["feed.xml", "sitemap.xml", "robots.txt"])
def test_page_named_like_a_site_file_gets_its_own_folder(make_site, cli, name: str) -> None:
    root = make_site({OK: GOOD, f"content/pages/{name}.md": "---\ntitle: P\n---\nText.\n"})
    built_ok(cli(root))
    assert (root / f"site/{name.replace('.', '-')}/index.html").is_file()
    assert (root / "site" / name).read_bytes()[:5] in (b"<?xml", b"User-")


def test_reserved_names_are_safe_as_article_slugs_and_tag_names(make_site, cli) -> None:
    """Articles live under articles/ and tags under tags/, so no name can replace a site file."""
    names = ["tags", "404", "index", "cname", "page", "feed-xml", "sitemap-xml"]
    files = {
        f"content/articles/2025-12-02-{name}.md": article(
            f"'{name}'", tags="['tags', 'feed.xml', 'CNAME', 'index', '404', 'page']"
        )
        for name in names
    }
    root = make_site(files)
    built_ok(cli(root))
    site = root / "site"
    for name in names:
        assert (site / f"articles/{name}/index.html").is_file()
    for tag in ("feed-xml", "cname", "index", "404", "tags"):
        assert (site / f"tags/{tag}/index.html").is_file()
    assert not (site / "CNAME").exists()
    assert "<h1>Tags</h1>" in (site / "tags/index.html").read_text()
    assert "Page not found" in (site / "404.html").read_text()
    assert (site / "feed.xml").read_text().startswith('<?xml version="1.0"')


@pytest.mark.parametrize("tag", ["'!!!'", "'🔥'", "'—'", "'...'", "'#'"])
def test_tag_without_letters_or_digits_is_an_error_with_its_line(make_site, cli, tag: str) -> None:
    root = make_site({A: article("T", tags=f"[world, {tag}]")})
    run = cli(root)
    assert run.code == 1
    name = tag.strip("'")
    assert run.err == f"{A}:4: tag {name!r} has no letters or digits to make a URL from\n"


def test_emoji_beside_a_word_keeps_the_word(make_site, cli) -> None:
    root = make_site({A: article("T", tags="['🔥 Climate']")})
    built_ok(cli(root))
    assert "🔥 Climate" in (root / "site/tags/climate/index.html").read_text()


def test_case_and_space_variants_are_one_tag(make_site, cli) -> None:
    root = make_site(
        {
            A: article("One", tags="[AI]"),
            "content/articles/2025-12-01-y.md": article("Two", tags="['ai ']"),
            "content/articles/2025-12-01-z.md": article("Three", tags="['  AI']"),
        }
    )
    built_ok(cli(root))
    assert sorted(p.name for p in (root / "site/tags").iterdir() if p.is_dir()) == ["ai"]
    page = (root / "site/tags/ai/index.html").read_text()
    assert "3 articles" in page and "Tagged “AI”" in page


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            ("content/articles/2025-12-01-Storm.md", article("A")),
            ("content/articles/2025-12-02-storm.md", article("B")),
            "content/articles/2025-12-02-storm.md:2: slug 'storm' is already used by"
            " content/articles/2025-12-01-Storm.md; set a different 'slug'\n",
        ),
        (
            ("content/articles/2025-12-01-storm.md", article("A")),
            ("content/articles/2025-12-02-other.md", article("B", slug="storm")),
            "content/articles/2025-12-02-other.md:4: slug 'storm' is already used by"
            " content/articles/2025-12-01-storm.md; set a different 'slug'\n",
        ),
        (
            ("content/pages/About.md", "---\ntitle: A\n---\nA\n"),
            ("content/pages/about.md", "---\ntitle: B\n---\nB\n"),
            "content/pages/about.md: slug 'about' is already used by content/pages/About.md;"
            " set a different 'slug'\n",
        ),
        (
            ("content/pages/about.md", "---\ntitle: A\n---\nA\n"),
            ("content/pages/us.md", "---\ntitle: B\nslug: about\n---\nB\n"),
            "content/pages/us.md: slug 'about' is already used by content/pages/about.md;"
            " set a different 'slug'\n",
        ),
    ],
    ids=["case-only", "explicit-slug", "page-case-only", "page-explicit-slug"],
)
def test_colliding_urls_are_an_error_naming_both_files(
    make_site, cli, first: tuple[str, str], second: tuple[str, str], message: str
) -> None:
    root = make_site(dict([first, second]))
    run = cli(root)
    assert run.code == 1
    assert run.err == message


def test_every_output_path_stays_inside_the_output_folder(make_site, cli) -> None:
    files = {
        f"content/articles/2025-12-0{n}-{name}.md": article(
            f"../../{name}", tags="['../../etc', '..\\\\x', '%2e%2e', '/abs', 'C:\\\\x']"
        )
        for n, name in enumerate(["dots", "slash", "percent"], start=1)
    }
    files["content/pages/..about.md"] = "---\ntitle: ../../about\n---\nText.\n"
    files["static/..css"] = "x"
    files["static/a..b/c.css"] = "x"
    root = make_site(files)
    built_ok(cli(root))
    site = (root / "site").resolve()
    written = [p for p in site.rglob("*")]
    assert len(written) > 20
    for path in written:
        assert not path.is_symlink() and path.resolve().is_relative_to(site), path
    assert not any(p.name.startswith("..") for p in written if p.parent == site)


@pytest.mark.parametrize(
    "relative", ["../x", "/abs", "a/../../x", "a/..", "..\\x", "a\\..\\x", "a\x00b", "", ".", "./"]
)
def test_output_paths_that_would_leave_the_folder_are_refused(relative: str) -> None:
    with pytest.raises(OutputError, match="it would leave the output folder"):
        safe_output_path(relative)


def test_url_outside_the_base_path_has_no_output_path() -> None:
    from broadsheet.config import Config

    urls = Urls(Config(base_url="https://example.org/news/"))
    with pytest.raises(OutputError, match="outside the base path"):
        output_path("/elsewhere/x/", urls)
