"""No import circle hides behind a function-level import (issue 16: "import circles: none").

A module that imports one of the project's own modules inside a function is almost always dodging a circle (a
service importing the task that imports it, a selector and a service importing each other). Imports of the
project's own code belong at the top of the module, where a circle fails at once. The one place where a late
import is the rule is ``AppConfig.ready()``: registrations must wait for the app registry. Heavy third-party
libraries (WeasyPrint, pypdf, qrcode) may still be imported on use; this test looks at the project's packages only.
"""

import ast
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGES = ("infra", "spas", "partners", "referrals", "outreach", "insights", "spa_referrals")


def _late_project_imports(path, root=PROJECT_DIR):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if function.name == "ready" and path.name == "apps.py":
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                top = (node.module or "").split(".")[0]
                if node.level or top in PACKAGES:
                    yield f"{path.relative_to(root)}:{node.lineno} in {function.name}()"
            elif isinstance(node, ast.Import) and any(alias.name.split(".")[0] in PACKAGES for alias in node.names):
                yield f"{path.relative_to(root)}:{node.lineno} in {function.name}()"


def test_the_project_s_modules_import_each_other_at_module_level():
    late = [
        where
        for package in PACKAGES
        for path in sorted((PROJECT_DIR / package).rglob("*.py"))
        if "migrations" not in path.parts
        for where in _late_project_imports(path)
    ]

    assert late == []


def test_the_check_sees_a_late_import(tmp_path):
    module = tmp_path / "spas" / "late.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from .models import Spa\n    import referrals.models\n    return Spa\n")

    assert list(_late_project_imports(module, root=tmp_path)) == ["spas/late.py:2 in f()", "spas/late.py:3 in f()"]
