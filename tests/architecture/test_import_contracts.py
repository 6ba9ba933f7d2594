"""The floors of the house are enforced: `lint-imports` (import-linter, contracts in pyproject.toml) passes on the
code as it is and fails when a lower floor imports a higher one."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = ["infra", "spas", "partners", "referrals", "outreach", "insights", "spa_referrals"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")


def _lint_imports(directory):
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        cwd=directory,
        env={"PYTHONPATH": str(directory), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_contracts_hold():
    result = _lint_imports(PROJECT_DIR)

    assert result.returncode == 0, result.stdout + result.stderr


def _copy_of_the_project(tmp_path):
    for package in [*ROOT_PACKAGES, "tests/architecture"]:
        shutil.copytree(PROJECT_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests" / "__init__.py").write_text("")
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_infra_importing_a_feature_app_breaks_a_contract(tmp_path):
    _copy_of_the_project(tmp_path)
    (tmp_path / "infra" / "wrong_floor.py").write_text("from referrals.models import Referral  # noqa\n")

    result = _lint_imports(tmp_path)

    assert result.returncode == 1
    assert "infra is the bottom floor" in result.stdout
    assert "BROKEN" in result.stdout


def test_a_room_importing_another_room_s_private_name_breaks_a_contract(tmp_path):
    _copy_of_the_project(tmp_path)
    # Spread over lines, as ruff formats a long import: the contract reads the statement, not the first line.
    (tmp_path / "insights" / "borrowed.py").write_text(
        "from referrals.figures import (  # noqa\n    _facts_of,\n    snapshot,\n)\n"
    )

    result = _lint_imports(tmp_path)

    assert result.returncode == 1
    assert "insights.borrowed:1 imports another room's private _facts_of" in result.stdout


def test_a_room_may_use_its_own_private_names(tmp_path):
    _copy_of_the_project(tmp_path)
    (tmp_path / "referrals" / "own_helpers.py").write_text("from referrals.figures import _facts_of  # noqa\n")

    result = _lint_imports(tmp_path)

    assert result.returncode == 0, result.stdout
