"""An import-linter contract: no package imports another package's private names (issue 16 §6).

A name that starts with one underscore (``_claim``, ``_figures``) is its module's own business. Inside one room of
the house — a top-level package, or one capability sub-package of it (``referrals.portal``) — modules may share
them; across rooms they may not, in either direction: import the public function, or make one. Private
modules count too (``from referrals._helpers import x``). ``__dunder__`` names are public.

Registered in pyproject.toml (``contract_types``) and run by ``lint-imports`` in ``make lint`` and CI.
"""

import ast
import functools
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _room(module, graph):
    """``root`` or ``root.sub`` when ``root.sub`` is a package (has modules under it)."""
    parts = module.split(".")
    if len(parts) >= 2:
        candidate = ".".join(parts[:2])
        if graph.find_children(candidate):
            return candidate
    return parts[0]


@functools.cache
def _imported_names_by_line(module):
    """{line number: [names imported by the ``from … import`` statement that starts there]} of ``module``."""
    # Found without importing anything (a package's __init__ may need Django's settings), from where lint-imports runs.
    path = Path(*module.split("."))
    origin = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
    with open(origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), filename=origin)
    return {
        node.lineno: [alias.name for alias in node.names] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }


class PrivateNamesContract(Contract):
    """``containers``: the packages whose modules are checked (both as importers and as imported)."""

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose):
        containers = set(self.containers)  # type: ignore[arg-type]
        violations = []
        for importer in sorted(graph.modules):
            if importer.split(".")[0] not in containers:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                if imported.split(".")[0] not in containers or _room(importer, graph) == _room(imported, graph):
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    line = detail["line_contents"]
                    names = _imported_names_by_line(importer).get(detail["line_number"], [])
                    private = [name for name in names if _private(name)]
                    private += [part for part in imported.split(".") if _private(part)]
                    if private:
                        violations.append((importer, detail["line_number"], line.strip(), ", ".join(private)))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check):
        for importer, line_number, line, names in check.metadata["violations"]:
            output.print_error(f"{importer}:{line_number} imports another room's private {names}: {line}")
            output.new_line()
