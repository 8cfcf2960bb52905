"""The GitHub Pages workflow: valid YAML, least permissions, and a build that gets the Pages URL."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from broadsheet.cli import main
from broadsheet.config import load_config

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"
BASE_URL_EXPRESSION = re.compile(r"\$\{\{\s*steps\.(\w+)\.outputs\.base_url\s*\}\}")


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[Any, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def step_using(workflow: dict[Any, Any], job: str, action: str) -> dict[str, Any]:
    found = [s for s in steps(workflow, job) if s.get("uses", "").startswith(action + "@")]
    assert len(found) == 1, f"job {job!r} must use {action} once"
    return found[0]


def build_command(workflow: dict[Any, Any]) -> str:
    found = [s["run"] for s in steps(workflow, "build") if "build.py" in s.get("run", "")]
    assert len(found) == 1, "the build job must run build.py once"
    return found[0]


def test_workflow_runs_on_push_to_main_and_by_hand(workflow: dict[Any, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers


def test_workflow_has_pages_permissions_and_one_deployment_at_a_time(
    workflow: dict[Any, Any],
) -> None:
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_every_action_is_pinned_to_a_major_version(workflow: dict[Any, Any]) -> None:
    used = [s["uses"] for job in workflow["jobs"] for s in steps(workflow, job) if "uses" in s]
    assert used and all(re.fullmatch(r"actions/[\w-]+@v\d+", u) for u in used), used


def test_build_installs_requirements_with_pip_cache(workflow: dict[Any, Any]) -> None:
    python = step_using(workflow, "build", "actions/setup-python")
    assert python["with"]["cache"] == "pip"
    runs = [s.get("run", "") for s in steps(workflow, "build")]
    assert "pip install -r requirements.txt" in runs


def test_artifact_path_is_the_builds_output_folder(workflow: dict[Any, Any]) -> None:
    upload = step_using(workflow, "build", "actions/upload-pages-artifact")
    assert upload["with"]["path"] == load_config(REPO).output_dir


def test_configure_pages_base_url_reaches_the_build(workflow: dict[Any, Any]) -> None:
    pages = step_using(workflow, "build", "actions/configure-pages")
    command = build_command(workflow)
    match = BASE_URL_EXPRESSION.search(command)
    assert match and match.group(1) == pages["id"], command
    build = steps(workflow, "build")
    position = {s.get("id") or s.get("run"): n for n, s in enumerate(build)}
    assert position[pages["id"]] < position[command], "configure-pages must run before the build"


def test_build_command_builds_for_the_pages_address(
    workflow: dict[Any, Any], sample_site: Path
) -> None:
    """Run the workflow's own build command with the output configure-pages gives a project."""
    pages_output = "https://octocat.github.io/my-repo"  # configure-pages: no trailing slash
    command = BASE_URL_EXPRESSION.sub(pages_output, build_command(workflow))
    argv = shlex.split(command)
    assert argv[:2] == ["python", "build.py"]
    assert main([*argv[2:], "--no-import"], root=sample_site) == 0
    home = (sample_site / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="/my-repo/static/css/style.css"' in home
    assert 'href="https://octocat.github.io/my-repo/"' in home  # canonical


def test_deploy_job_deploys_the_artifact_to_the_pages_environment(
    workflow: dict[Any, Any],
) -> None:
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    step = step_using(workflow, "deploy", "actions/deploy-pages")
    assert step["id"] in deploy["environment"]["url"]
