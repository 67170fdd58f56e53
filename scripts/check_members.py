"""Each workspace member installs and imports alone: ``make check-members``.

For every member (``libs/*`` and ``services/*``, as the root ``pyproject.toml`` lists them):
``uv sync --locked --no-dev --package <name>`` into an environment of its own
(``.tools/members/<name>``, reused between runs; ``--exact`` by default, so a dependency
removed from the member disappears from it too), then the member's own interpreter imports
every one of its modules and checks each third-party import against what the member declares
(``scripts/import_member.py``). An image built with ``--package <name>`` holds exactly this.

    python scripts/check_members.py [--uv .tools/bin/uv] [member ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORTER = ROOT / "scripts" / "import_member.py"
# two at a time: the import half is single-threaded, and CI machines are small
WORKERS = 2


@dataclass(frozen=True)
class Member:
    name: str
    path: Path

    @property
    def packages(self) -> list[str]:
        """The ``reelhouse.<x>`` packages the member ships (``src/reelhouse/<x>/``)."""
        src = self.path / "src" / "reelhouse"
        return sorted(f"reelhouse.{p.name}" for p in src.iterdir() if (p / "__init__.py").exists())


@dataclass(frozen=True)
class Outcome:
    member: Member
    ok: bool
    seconds: float
    output: str


def workspace_members(root: Path) -> list[Member]:
    config = tomllib.loads((root / "pyproject.toml").read_text())
    members: list[Member] = []
    for pattern in config["tool"]["uv"]["workspace"]["members"]:
        for path in sorted(root.glob(pattern)):
            manifest = path / "pyproject.toml"
            if manifest.exists():
                members.append(Member(tomllib.loads(manifest.read_text())["project"]["name"], path))
    return members


def check(member: Member, *, uv: str, envs: Path) -> Outcome:
    started = time.monotonic()
    venv = envs / member.name
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)  # uv would warn that it does not match the project environment
    sync = subprocess.run(
        [uv, "sync", "--locked", "--no-dev", "--package", member.name, "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if sync.returncode != 0:
        return Outcome(member, False, time.monotonic() - started, sync.stdout + sync.stderr)
    imports = subprocess.run(
        [venv / "bin" / "python", "-I", str(IMPORTER), member.name, *member.packages],
        cwd=envs,  # not the repository: nothing of the checkout is importable by accident
        capture_output=True,
        text=True,
        check=False,
    )
    return Outcome(
        member, imports.returncode == 0, time.monotonic() - started, imports.stdout + imports.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_members.py", description=__doc__)
    parser.add_argument("--uv", default=str(ROOT / ".tools" / "bin" / "uv"))
    parser.add_argument("--envs", type=Path, default=ROOT / ".tools" / "members")
    parser.add_argument("members", nargs="*", help="member names (default: every member)")
    args = parser.parse_args(argv)

    members = workspace_members(ROOT)
    if args.members:
        unknown = set(args.members) - {m.name for m in members}
        if unknown:
            parser.error(f"not workspace members: {', '.join(sorted(unknown))}")
        members = [m for m in members if m.name in args.members]
    args.envs.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(lambda m: check(m, uv=args.uv, envs=args.envs), members))
    for outcome in outcomes:
        verdict = "ok" if outcome.ok else "FAILED"
        print(f"check-members: {outcome.member.name} {verdict} ({outcome.seconds:.1f} s)")
        if not outcome.ok:
            print(outcome.output.rstrip())
    failed = [o.member.name for o in outcomes if not o.ok]
    total = time.monotonic() - started
    if failed:
        print(
            f"check-members: {len(failed)} of {len(outcomes)} members do not install and import"
            f" alone: {', '.join(failed)} ({total:.1f} s)"
        )
        return 1
    print(f"check-members: {len(outcomes)} members install and import alone ({total:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
