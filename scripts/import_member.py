"""Import every module of one installed workspace member and check that it declares what it imports.

Run by ``scripts/check_members.py`` with the member's own interpreter, in an environment that
holds only that member and its declared dependencies (``python -I``: nothing from the working
directory or ``PYTHONPATH`` leaks in). Standard library only, so it runs in any member's venv.

    python -I scripts/import_member.py reelhouse-downloader reelhouse.downloader

Two findings fail the member, each printed on its own line as ``<module>: <problem>``:
- a module that does not import (``ModuleNotFoundError: No module named 'numpy'``);
- a third-party import whose distribution the member does not declare itself (found only
  because another dependency pulled it in, so it breaks when that dependency changes).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as metadata
import pkgutil
import re
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

NAMESPACE = "reelhouse"


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(dist: str) -> set[str]:
    """The distributions ``dist`` requires directly (extras' own requirements left out)."""
    names = {normalize(dist)}
    for requirement in metadata.requires(dist) or []:
        if re.search(r"\bextra\s*==", requirement):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match:
            names.add(normalize(match.group(1)))
    return names


def modules(package: str) -> Iterator[str]:
    """``package`` and every module below it, as ``pkgutil.walk_packages`` finds them."""
    yield package
    root = importlib.import_module(package)
    failures: list[str] = []
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.", onerror=failures.append):
        yield info.name
    # a subpackage whose __init__ failed is reported when it is imported on its own
    yield from failures


def imported_names(source: Path) -> set[str]:
    """The absolute imports of one source file, as dotted names (``numpy``, ``reelhouse.common``)."""
    tree = ast.parse(source.read_bytes(), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def undeclared(module: str, names: set[str], allowed: set[str]) -> list[str]:
    providers = metadata.packages_distributions()
    problems: list[str] = []
    for name in sorted(names):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        if top == NAMESPACE:
            # reelhouse.<x> comes from the workspace member reelhouse-<x>
            part = name.split(".")[1] if "." in name else ""
            dists = [f"{NAMESPACE}-{part}"]
        else:
            dists = providers.get(top, [])
        if not dists:
            problems.append(f"{module}: imports {name!r}, which no installed distribution provides")
        elif not any(normalize(d) in allowed for d in dists):
            problems.append(
                f"{module}: imports {name!r} from {', '.join(sorted(set(dists)))},"
                " which this member does not declare"
            )
    return problems


def check(dist: str, packages: list[str]) -> list[str]:
    allowed = declared(dist)
    problems: list[str] = []
    count = 0
    for package in packages:
        try:
            names = list(modules(package))
        except Exception as exc:
            return [f"{package}: {type(exc).__name__}: {exc}"]
        for name in names:
            count += 1
            try:
                module = importlib.import_module(name)
            except BaseException as exc:  # SystemExit too: importing must never end the process
                last = traceback.extract_tb(exc.__traceback__)[-1]
                problems.append(
                    f"{name}: {type(exc).__name__}: {exc} ({last.filename}:{last.lineno})"
                )
                continue
            origin = getattr(module, "__file__", None)
            if origin and origin.endswith(".py"):
                problems.extend(undeclared(name, imported_names(Path(origin)), allowed))
    print(f"{dist}: {count} modules imported")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: import_member.py <distribution> <package> [<package> ...]", file=sys.stderr)
        return 2
    problems = check(argv[0], argv[1:])
    for problem in problems:
        print(f"{argv[0]}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
