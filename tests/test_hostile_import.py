"""Hostile input to `build.py import`: it writes an article the build accepts, or fails with a
clean error naming the input; never a traceback, never a partial file, never an overwrite.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, REPO
from tests.sitecheck import manifest

REAL = (FIXTURES / "import" / "guardian_style.txt").read_text(encoding="utf-8")
PAYLOAD = '<script>alert(1)</script> "><img src=x onerror=alert(1)> [x](javascript:alert(1))'
HOSTILE = {
    "empty": b"",
    "whitespace": b"  \n\n\t\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01",
    "utf16": REAL.encode("utf-16"),
    "cp1252": "Title \u201cquoted\u201d\n\nTue 2 Dec 2025\n\nBody text.\n".encode("cp1252"),
    "nul": REAL.encode().replace(b"Volunteers", b"Volun\x00teers", 1),
    "lone-cr": REAL.replace("\n", "\r").encode(),
    "mixed-endings": REAL.replace("\n", "\r\n", 3).encode(),
    "front-matter": b"---\ntitle: !!python/object/apply:os.system ['touch pwned']\n---\nBody\n",
    "aliases": b"a: &a [x, x]\nb: [*a, *a]\n\nTue 2 Dec 2025\n\nText.\n",
    "fences": ("---\n" + REAL + "\n---\n...\n").encode(),
    "xss": (PAYLOAD + "\n\nTue 2 Dec 2025\n\n" + PAYLOAD + "\n" + REAL).encode(),
    "control": ("Title \x01\x0b\ufffe ]]> & <\n\nTue 2 Dec 2025\n\nBody.\n").encode(),
    "huge-line": ("Title\n\nTue 2 Dec 2025\n\n" + "a" * 3_000_000 + "\n").encode(),
    "deep-quote": ("Title\n\nTue 2 Dec 2025\n\n" + ">" * 10_000 + " x\n").encode(),
    "slug-attack": b"../../etc/passwd\n\nTue 2 Dec 2025\n\nBody.\n",
}


def import_outcome(cli, root: Path, data: bytes, name: str = "input.txt") -> None:
    """Import `data` and check the promise, whatever the outcome."""
    source = root / "inbox-copy" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    articles = root / "content/articles"
    before = manifest(articles) if articles.exists() else {}
    run = cli(root, "import", str(source), "--captured", "2025-12-02T12:00:00+00:00")
    assert "Traceback" not in run.err
    assert run.code in (0, 1), run.err
    after = manifest(articles) if articles.exists() else {}
    assert {k: after[k] for k in before} == before, "an existing article was changed"
    new = sorted(set(after) - set(before))
    assert all(name.endswith(".md") for name in new), new  # no temp or partial files
    if run.code == 1:
        assert new == []
        assert str(source) in run.err or name in run.err, run.err
        return
    assert new, run.out
    built = cli(root, "--output", str(root.parent / f"{root.name}-site"))
    assert built.code == 0, built.err
    again = cli(root, "import", str(source), "--captured", "2025-12-02T12:00:00+00:00")
    assert "Traceback" not in again.err
    assert manifest(articles) == after, "a second import changed or added files"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_imported_cleanly_or_refused_naming_it(
    make_site, cli, tmp_path: Path, name: str
) -> None:
    root = make_site()
    import_outcome(cli, root, HOSTILE[name])
    assert not (root / "pwned").exists() and not (tmp_path / "pwned").exists()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The real-shaped input with random slices cut, repeated or replaced by random text."""
    text = REAL
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 200)))
        action = draw(st.sampled_from(["cut", "repeat", "replace"]))
        if action == "cut":
            text = text[:start] + text[end:]
        elif action == "repeat":
            text = text[:end] + text[start:end] + text[end:]
        else:
            text = text[:start] + draw(st.text(max_size=40)) + text[end:]
    return text.encode("utf-8", "surrogatepass")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.one_of(mutated(), st.text(max_size=300).map(str.encode), st.binary(max_size=200)))
def test_fuzzed_input_is_imported_cleanly_or_refused(cli, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "project"
        root.mkdir()
        (root / "config.yml").write_text("title: Fuzz\nbase_url: https://example.org/\n")
        for name in ("templates", "static"):
            (root / name).symlink_to(REPO / name)
        import_outcome(cli, root, data)
