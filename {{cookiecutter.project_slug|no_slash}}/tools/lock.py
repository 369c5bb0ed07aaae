"""`make lock`: write requirements.lock, every package of the environment at one version and hash.

pip resolves the project (with its `dev` extra) exactly as `pip install` would, honouring pip's own
configuration (index, find-links, constraints, `PIP_INDEX_URL`), installs nothing, and reports the
file it would install for each package. Those become `name==version --hash=sha256:...` lines,
which `pip install --require-hashes -r requirements.lock` (what `make setup` runs) installs and
nothing else. The lock describes this platform and Python version: on another, run `make lock`.
Why not pip-compile: it hashes every file of every pinned release for all platforms, downloading
them from any index without PyPI's JSON API, which is gigabytes for torch or pyarrow.
"""

import json
import platform
import subprocess
import sys
from pathlib import Path

HEADER = """\
# The whole environment of this project, exact versions and SHA-256 of each file: `make setup`
# installs it with `pip install --require-hashes`. Written by `make lock` (tools/lock.py) for
# Python {python} on {platform}; run `make lock` to refresh it, then commit it.
"""


def resolve() -> list[dict]:
    """pip's installation report for `-e .[dev]` in a fresh environment (nothing is installed)."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--quiet", "--report", "-", "-e", ".[dev]"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"lock: pip could not resolve the project:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout)["install"]


def pinned(item: dict) -> str | None:
    """One requirement line, or None for the project itself (installed editable, unpinned)."""
    info = item["download_info"]
    if info.get("dir_info", {}).get("editable"):
        return None
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    digest = info.get("archive_info", {}).get("hashes", {}).get("sha256")
    if not digest:
        sys.exit(f"lock: pip reported no SHA-256 for {name} {version} ({info.get('url')})")
    return f"{name}=={version} \\\n    --hash=sha256:{digest}"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")
    lines = sorted(filter(None, map(pinned, resolve())), key=str.lower)
    python = ".".join(platform.python_version_tuple()[:2])
    header = HEADER.format(python=python, platform=f"{sys.platform}-{platform.machine()}")
    out.write_text(header + "\n".join(lines) + "\n")
    print(f"lock: {len(lines)} packages in {out}")


if __name__ == "__main__":
    main()
