"""Size limits (issue 16): no module over 800 lines and no function or method over 80, in the product packages.

A module that grows past the limit becomes a package or gives a part a module of its own (STYLE.md: layout); a
function past it is split into named steps. Migrations are generated and left alone. A function's length runs
from its ``def`` line to its last line (``end_lineno - lineno + 1``), as ``ast`` reports them, decorators aside.
"""

import ast
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGES = ["infra", "spas", "partners", "referrals", "outreach", "insights", "spa_referrals", "bench"]
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80


def _modules(root, packages):
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.relative_to(root).parts:
                yield path


def oversized(root=PROJECT_DIR, packages=PACKAGES):
    """One line per module over MAX_MODULE_LINES and per function or method over MAX_FUNCTION_LINES."""
    found = []
    for path in _modules(root, packages):
        name = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{name}: {lines} lines (module limit {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source, filename=name)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{name}:{node.lineno} {node.name}: {length} lines (function limit {MAX_FUNCTION_LINES})"
                    )
    return found


def test_no_module_or_function_is_over_the_size_limits():
    found = oversized()

    assert not found, "Over the size limits (split them into named parts):\n" + "\n".join(found)


def _method(name, lines, prefix="def"):
    """A method ``lines`` long, its ``def`` line included."""
    body = "".join(f"        x{n} = {n}\n" for n in range(lines - 1))
    return f"    {prefix} {name}(self):\n{body}"


def test_the_check_names_a_long_module_and_a_long_method_and_skips_migrations(tmp_path):
    package = tmp_path / "shop"
    (package / "migrations").mkdir(parents=True)
    (package / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (package / "migrations" / "0001_initial.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (package / "cart.py").write_text(
        "class Cart:\n"
        + _method("just_fits", MAX_FUNCTION_LINES)
        + "\n"
        + _method("too_long", MAX_FUNCTION_LINES + 1, prefix="async def")
    )

    found = oversized(tmp_path, ["shop"])

    too_long_at = 1 + MAX_FUNCTION_LINES + 2
    assert found == [
        f"shop/big.py: {MAX_MODULE_LINES + 1} lines (module limit {MAX_MODULE_LINES})",
        f"shop/cart.py:{too_long_at} too_long: {MAX_FUNCTION_LINES + 1} lines (function limit {MAX_FUNCTION_LINES})",
    ]
