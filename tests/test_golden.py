"""Golden output: a tiny fixture project must build to exactly the files kept in expected/.

After an intended change to templates or output, refresh them with
`BROADSHEET_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.conftest import REPO

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
EXPECTED = GOLDEN / "expected"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".broadsheet-site"
    }


def test_fixture_site_matches_golden_output(tmp_path: Path, cli) -> None:
    root = tmp_path / "golden"
    shutil.copytree(GOLDEN, root, ignore=shutil.ignore_patterns("expected"))
    for name in ("templates", "static"):
        shutil.copytree(REPO / name, root / name)
    run = cli(root, "--strict")
    assert run.code == 0, run.err
    built = _files(root / "site")
    if os.environ.get("BROADSHEET_UPDATE_GOLDEN") == "1":
        shutil.rmtree(EXPECTED, ignore_errors=True)
        shutil.copytree(root / "site", EXPECTED, ignore=shutil.ignore_patterns(".broadsheet-site"))
    expected = _files(EXPECTED)
    assert sorted(built) == sorted(expected)
    for name, data in expected.items():
        assert built[name] == data, f"{name} differs from the golden copy"


def test_golden_site_has_the_shape_we_expect() -> None:
    names = set(_files(EXPECTED))
    assert {
        "index.html",
        "page/2/index.html",
        "digests/2025-01-06/index.html",
        "digests/2025-01-07/index.html",
        "digests/2025-01-08/index.html",
        "articles/river-levels-fall/index.html",
        "tags/rivers/page/2/index.html",
        "tags/weather/feed.xml",
        "CNAME",
    } <= names
    home = (EXPECTED / "index.html").read_text()
    assert 'href="/golden/static/css/style.css"' in home
    assert "&lt;early&gt;" in (EXPECTED / "articles/market-opens-late/index.html").read_text()
