"""What `pip install .` and the runner image get: every package of the source tree, and a Dockerfile
whose instructions are Docker's, whose user is not root and whose entry point is `sbsched`. The image is
not built here (no registry); this keeps the file honest."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword, rest.strip()))
    return found


def test_every_package_in_the_tree_is_installed_by_pip_install():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    in_tree = {".".join(p.parent.relative_to(ROOT).parts) for top in ("reconciler", "cli")
               for p in (ROOT / top).rglob("__init__.py")}
    assert in_tree <= listed, sorted(in_tree - listed)
    assert config["package-dir"]["reconciler.schemas"] == "schemas"


def test_the_dockerfile_is_well_formed_slim_and_unprivileged():
    found = instructions()
    assert all(keyword in INSTRUCTIONS and keyword.isupper() for keyword, _ in found), found
    assert found[0][0] == "FROM" and re.fullmatch(r"python:3\.1[1-9]-slim", found[0][1])
    users = [args for keyword, args in found if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert users[-1].split(":")[0] == "65532"   # what the exported pods' runAsUser says
    assert json.loads(dict(found)["ENTRYPOINT"]) == ["sbsched"]
    assert any(keyword == "RUN" and "pip install ." in args for keyword, args in found)
    for keyword, args in found:   # what is copied exists, and is what the package needs
        if keyword == "COPY":
            *sources, _ = args.split()
            assert all((ROOT / source).exists() for source in sources), args
    copied = " ".join(args for keyword, args in found if keyword == "COPY")
    assert all(part in copied for part in ("pyproject.toml", "cli/", "reconciler/", "schemas/"))


def test_the_exported_pods_run_as_the_images_user():
    from reconciler.k8s.render import RUNNER_UID, WORK_DIR

    found = dict(instructions())
    assert found["USER"] == f"{RUNNER_UID}:{RUNNER_UID}" and found["WORKDIR"] == WORK_DIR
