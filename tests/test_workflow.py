"""The GitHub Pages workflow runs `make test` and `make robustness`, then builds the book with
`make book` and deploys it, using only GitHub's own actions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
ALLOWED_ACTIONS = {
    "actions/checkout",
    "actions/setup-python",
    "actions/upload-pages-artifact",
    "actions/deploy-pages",
}


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _job_using(workflow: dict, action: str) -> tuple[str, dict]:
    for name, job in workflow["jobs"].items():
        if any(s.get("uses", "").split("@")[0] == action for s in job.get("steps", [])):
            return name, job
    raise AssertionError(f"no job uses {action}")


def test_runs_on_push_to_main(workflow: dict) -> None:
    # YAML 1.1 reads the key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert "push" in triggers, triggers
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" not in triggers  # a pull request must not deploy


def test_permissions_are_the_ones_pages_needs(workflow: dict) -> None:
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_only_standard_actions_pinned_to_a_version(workflow: dict) -> None:
    used = [s["uses"] for s in _steps(workflow) if "uses" in s]
    for ref in used:
        name, _, version = ref.partition("@")
        assert name in ALLOWED_ACTIONS, f"{ref} is not one of {sorted(ALLOWED_ACTIONS)}"
        assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", version), f"{ref} is not pinned"
    assert {u.split("@")[0] for u in used} == ALLOWED_ACTIONS


def test_builds_with_make_book_on_the_pinned_python(workflow: dict) -> None:
    name, job = _job_using(workflow, "actions/upload-pages-artifact")
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert runs == ["make book"], runs
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f"=={setup['with']['python-version']}.*"
    steps = [s.get("uses", s.get("run", "")).split("@")[0] for s in job["steps"]]
    assert steps.index("actions/checkout") < steps.index("make book")
    assert steps.index("make book") < steps.index("actions/upload-pages-artifact")
    assert re.search(r"^book:", (ROOT / "Makefile").read_text(), re.M)


def test_uploads_the_built_html_and_deploys_it(workflow: dict) -> None:
    build_name, build = _job_using(workflow, "actions/upload-pages-artifact")
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"].rstrip("/") == "_build/html"
    deploy_name, deploy = _job_using(workflow, "actions/deploy-pages")
    assert deploy_name != build_name
    assert build_name in (
        [deploy["needs"]] if isinstance(deploy["needs"], str) else deploy["needs"]
    )
    assert deploy["environment"]["name"] == "github-pages"


def test_deploys_only_after_test_and_robustness_pass(workflow: dict) -> None:
    """The notebooks are re-executed (nbval) and their verdicts re-checked on another
    numeric path and other seeds before anything is published."""
    jobs = workflow["jobs"]
    testers = [
        name
        for name, job in jobs.items()
        if [s.get("run", "").strip() for s in job.get("steps", []) if "run" in s]
        == ["make test", "make robustness"]
    ]
    assert len(testers) == 1, "one job must run `make test` then `make robustness`"
    test_job = jobs[testers[0]]
    assert test_job.get("container", "").startswith("python:3.11"), test_job.get("container")
    build_name, build = _job_using(workflow, "actions/upload-pages-artifact")
    needs = [build["needs"]] if isinstance(build.get("needs"), str) else build.get("needs", [])
    assert testers[0] in needs, f"{build_name} must wait for {testers[0]}"
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make robustness")
