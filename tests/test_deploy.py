"""The deployment files, read the way their tools read them and cross-checked.

No Docker engine or Kubernetes runs here, so: YAML through PyYAML, Dockerfiles
through a small instruction parser (below), the hub's nbgrader config and
Python snippets through traitlets' own config objects, and every version bound
against pyproject.toml. The chart keys deploy/config.yaml may use are listed in
CHART_KEYS (written from the z2jh 4.x configuration reference), so a misspelt
key fails here instead of being ignored by the chart. The backend variable and
the postStart hook are run for real, in fresh processes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from losskit import cli

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the dev extra installs tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILES = {
    "cpu": DEPLOY / "docker" / "Dockerfile.cpu",
    "gpu": DEPLOY / "docker" / "Dockerfile.gpu",
}
KERNEL_CHECK = DEPLOY / "docker" / "cupy_kernel_check.py"
# conda-forge names that differ from the PyPI ones (matplotlib-base: no Qt GUI).
CONDA_NAME = {"matplotlib": "matplotlib-base"}
NAMESPACE = "losskit"
# The GPU nodes' taint (README, "Profiles") and what tolerates it.
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
GPU_GROUP = "gpu"


# --------------------------------------------------------------------------- #
# A Dockerfile parser: enough of the reference syntax to read our two files.
# --------------------------------------------------------------------------- #
KEYWORDS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
    "WORKDIR",
}  # fmt: skip
EXEC_FORM = {"CMD", "ENTRYPOINT", "RUN", "SHELL"}


@dataclass
class Instruction:
    keyword: str
    args: str  # continuation lines joined, flags included
    line: int  # where it starts (1-based)
    flags: dict = field(default_factory=dict)  # --chown=..., --from=...
    rest: str = ""  # args without the leading flags

    def exec_form(self):
        """The JSON array of an exec-form CMD/ENTRYPOINT/RUN/SHELL, else None."""
        return json.loads(self.rest) if self.rest.startswith("[") else None


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comments dropped, continuation lines joined.

    Raises ValueError (with the line) for an unknown instruction, a dangling
    continuation, malformed exec-form JSON, or a first instruction other than
    ARG/FROM. Honours the ``# escape=`` parser directive.
    """
    escape = "\\"
    lines = text.splitlines()
    for raw in lines:  # parser directives: only at the very top
        m = re.match(r"#\s*(\w+)\s*=\s*(\S+)\s*$", raw.strip())
        if not m:
            break
        if m.group(1).lower() == "escape":
            escape = m.group(2)
    out: list[Instruction] = []
    pending, start = [], 0
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments inside a continuation are dropped too
        if not pending:
            start = number
        if stripped.endswith(escape):
            pending.append(stripped[: -len(escape)].strip())
            continue
        pending.append(stripped)
        out.append(_instruction(" ".join(p for p in pending if p), start))
        pending = []
    if pending:
        raise ValueError(f"line {start}: the file ends inside a continued instruction")
    first = next((i for i in out if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        raise ValueError("a Dockerfile must start with FROM (after optional ARGs)")
    return out


def _instruction(joined: str, line: int) -> Instruction:
    keyword, _, args = joined.partition(" ")
    keyword = keyword.upper()
    if keyword not in KEYWORDS:
        raise ValueError(f"line {line}: unknown instruction {keyword!r}")
    args = args.strip()
    flags, rest = {}, args
    while keyword in {"ADD", "COPY", "FROM", "RUN"} and rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name, _, value = flag[2:].partition("=")
        flags[name] = value
        rest = rest.strip()
    inst = Instruction(keyword, args, line, flags, rest)
    if keyword in EXEC_FORM and rest.startswith("["):
        try:
            inst.exec_form()
        except json.JSONDecodeError as exc:
            msg = f"line {line}: {keyword} exec form is not a JSON array: {exc}"
            raise ValueError(msg) from None
    return inst


def substitute(text: str, variables: dict) -> str:
    """Expand ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` as Docker does."""

    def repl(m):
        name = m.group(1) or m.group(3)
        default = m.group(2)
        if name in variables:
            return variables[name]
        return default if default is not None else m.group(0)

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", repl, text)


def env_pairs(inst: Instruction) -> dict:
    """The key=value pairs of an ENV or ARG (the legacy ``ENV key value`` form too)."""
    tokens = shlex.split(inst.args)
    if inst.keyword == "ENV" and len(tokens) >= 2 and "=" not in tokens[0]:
        return {tokens[0]: " ".join(tokens[1:])}
    return dict(t.partition("=")[::2] for t in tokens)


def base_image(instructions) -> str:
    """The FROM of the (single-stage) file, with the ARG defaults declared before it."""
    args = {}
    for inst in instructions:
        if inst.keyword == "ARG":
            args.update(env_pairs(inst))
        if inst.keyword == "FROM":
            return substitute(inst.rest.split()[0], args)
    raise AssertionError("no FROM")


def shell_commands(instructions) -> list[list[str]]:
    """Every simple command that the RUN instructions execute, as argv lists."""
    commands = []
    for inst in instructions:
        if inst.keyword != "RUN":
            continue
        argv = inst.exec_form()
        if argv is not None:
            commands.append(argv)
            continue
        lexer = shlex.shlex(inst.rest, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        current = []
        for token in lexer:
            if token and set(token) <= set(";&|"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
        if current:
            commands.append(current)
    # Drop leading VAR=value assignments: "X=1 mamba ..." runs mamba.
    return [
        c[next((i for i, w in enumerate(c) if not re.match(r"^\w+=", w)), len(c)) :]
        for c in commands
    ]


def pip_installs(instructions) -> list[str]:
    """Requirement arguments of every ``pip install`` in the RUN instructions."""
    reqs = []
    for argv in shell_commands(instructions):
        for i in range(len(argv) - 1):
            if argv[i].endswith("pip") and argv[i + 1] == "install":
                reqs += [w for w in argv[i + 2 :] if not w.startswith("-")]
    return reqs


def copies(instructions) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY/ADD from the build context."""
    return [
        (shlex.split(i.rest)[:-1], shlex.split(i.rest)[-1])
        for i in instructions
        if i.keyword in {"COPY", "ADD"} and "from" not in i.flags
    ]


def final_env(instructions) -> dict:
    env = {}
    for inst in instructions:
        if inst.keyword == "ENV":
            env.update(env_pairs(inst))
    return env


# --------------------------------------------------------------------------- #
# The chart keys deploy/config.yaml may use
# --------------------------------------------------------------------------- #
# Written from the Zero to JupyterHub 4.x configuration reference (the chart's
# values schema) and, under profileList[].kubespawner_override, KubeSpawner's
# trait names. Only the keys this configuration uses (and load_groups, which
# deploy/README.md shows): add one here when you start using it. A leaf says
# what the value may be: a type (as the chart's schema types it), a frozenset
# of allowed values, or ANY (a Kubernetes object or Python source the chart
# passes through unchecked). A dict lists the keys allowed under a key ("*":
# any name), a one-item list describes each item of a list.
ANY = object()
INT = (int,)  # bool is an int in Python; is_allowed() refuses it for INT
TOLERATION = {
    "key": str,
    "operator": frozenset({"Exists", "Equal"}),
    "value": str,
    "effect": frozenset({"NoSchedule", "PreferNoSchedule", "NoExecute"}),
    "tolerationSeconds": INT,
}
KUBESPAWNER_OVERRIDE = {
    "image": str,
    "cpu_guarantee": (int, float),
    "cpu_limit": (int, float),
    "mem_guarantee": str,
    "mem_limit": str,
    "extra_resource_limits": {"*": str},
    "environment": {"*": str},
    "node_selector": {"*": str},
    "tolerations": [TOLERATION],
}
CHART_KEYS = {
    "hub": {
        "config": {  # traitlets config: class -> trait
            "JupyterHub": {"authenticator_class": str, "load_groups": ANY},
            "Authenticator": {"allow_all": bool, "allowed_users": [str], "admin_users": [str]},
        },
        "concurrentSpawnLimit": INT,
        "consecutiveFailureLimit": INT,
        "extraConfig": {"*": str},
    },
    "singleuser": {
        "image": {"name": str, "tag": str},
        "defaultUrl": str,
        "startTimeout": INT,
        "storage": {"capacity": str, "extraVolumes": ANY, "extraVolumeMounts": ANY},
        "extraFiles": {"*": {"mountPath": str, "stringData": str}},
        "lifecycleHooks": {"postStart": ANY},
        "cpu": {"guarantee": (int, float), "limit": (int, float)},
        "memory": {"guarantee": str, "limit": str},
        "profileList": [
            {
                "display_name": str,
                "slug": str,
                "description": str,
                "default": bool,
                "kubespawner_override": KUBESPAWNER_OVERRIDE,
            }
        ],
    },
    "prePuller": {"extraTolerations": [TOLERATION]},
    "cull": {"enabled": bool, "timeout": INT, "every": INT},
}


def chart_key_errors(value, allowed, where: str = "") -> list[str]:
    """Every place where ``value`` uses a key, or a value, that ``allowed`` does not list."""
    if allowed is ANY:
        return []
    if isinstance(allowed, frozenset):
        ok = value in allowed
        return [] if ok else [f"{where}: {value!r} is not one of {sorted(allowed)}"]
    if isinstance(allowed, type | tuple):
        types = allowed if isinstance(allowed, tuple) else (allowed,)
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        names = " or ".join(t.__name__ for t in types)
        return [] if ok else [f"{where}: expected {names}, got {value!r}"]
    if isinstance(allowed, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        return [
            e for i, v in enumerate(value) for e in chart_key_errors(v, allowed[0], f"{where}[{i}]")
        ]
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping, got {value!r}"]
    errors = []
    for key, sub in value.items():
        path = f"{where}.{key}" if where else str(key)
        if key in allowed:
            errors += chart_key_errors(sub, allowed[key], path)
        elif "*" in allowed:
            errors += chart_key_errors(sub, allowed["*"], path)
        else:
            errors.append(f"{path}: not a key this configuration may use (CHART_KEYS)")
    return errors


# --------------------------------------------------------------------------- #
# The files
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def conda_env():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


@pytest.fixture(scope="module")
def hub():
    return yaml.safe_load((DEPLOY / "config.yaml").read_text())


@pytest.fixture(scope="module")
def exchange_manifests():
    return list(yaml.safe_load_all((DEPLOY / "nbgrader-exchange.yaml").read_text()))


@pytest.fixture(scope="module")
def gpu_quota():
    return yaml.safe_load((DEPLOY / "gpu-quota.yaml").read_text())


@pytest.fixture(scope="module")
def readme():
    return (DEPLOY / "README.md").read_text()


@pytest.fixture(scope="module", params=sorted(DOCKERFILES))
def image(request):
    """(name, parsed instructions) of each image's Dockerfile."""
    return request.param, parse_dockerfile(DOCKERFILES[request.param].read_text())


@pytest.fixture(scope="module")
def images():
    return {name: parse_dockerfile(path.read_text()) for name, path in DOCKERFILES.items()}


def conda_specs(env) -> dict:
    """name -> version spec string of the conda (non-pip) dependencies."""
    specs = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", dep).groups()
            specs[canonicalize_name(name)] = spec.replace(" ", "")
    return specs


def pip_section(env) -> list[str]:
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            return dep["pip"]
    return []


def runtime_requirements(pyproject, *extras) -> list[Requirement]:
    reqs = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in pyproject["project"]["optional-dependencies"][extra]]
    return reqs


def dev_requirement(pyproject, name) -> Requirement:
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    return next(Requirement(r) for r in dev if canonicalize_name(Requirement(r).name) == name)


def profiles(hub) -> dict:
    return {p["slug"]: p for p in hub["singleuser"]["profileList"]}


def quantity(value) -> float:
    """A Kubernetes quantity ("2", 0.5, "500m", "2G", "8Gi") as a number."""
    text = str(value)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20}
    units |= {"Gi": 2**30, "Ti": 2**40}
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text)
    assert m, f"not a Kubernetes quantity: {value!r}"
    return float(m.group(1)) * units.get(m.group(2), 1.0 if not m.group(2) else float("nan"))


def installs(argv: list[str]) -> bool:
    """Whether a RUN command installs packages (pip, mamba or conda)."""
    words = [w for w in argv if not w.startswith("-")]
    return (
        len(words) >= 2
        and Path(words[0]).name in {"pip", "pip3", "mamba", "conda", "micromamba"}
        and (words[1] == "install" or words[1:3] == ["env", "update"])
    )


def readme_commands(text: str) -> list[str]:
    """The shell commands of the README's ```bash blocks, in order, continuations joined."""
    commands = []
    for block in re.findall(r"^[ \t]*```bash\n(.*?)^[ \t]*```", text, flags=re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def header_commands(text: str) -> list[str]:
    """The kubectl/helm commands quoted in a YAML file's leading comment, continuations joined."""
    comment = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    joined = re.sub(r"\\\n\s*", " ", "\n".join(comment))
    return [
        line.split("  #")[0].strip()
        for line in joined.splitlines()
        if line.startswith(("kubectl ", "helm "))
    ]


def check_install_order(commands: list[str], where: str) -> None:
    """The namespace exists before anything is applied in it or the chart goes into it."""
    create = f"kubectl create namespace {NAMESPACE}"
    assert create in commands, f"{where}: no `{create}`"
    first = commands.index(create)
    for i, cmd in enumerate(commands):
        words = shlex.split(cmd)
        in_namespace = (
            words[:2] == ["kubectl", "apply"]
            or (words[:1] == ["kubectl"] and "-n" in words)
            or words[:2] == ["helm", "upgrade"]
        )
        if in_namespace:
            assert i > first, f"{where}: `{cmd}` runs before `{create}`"
        if words[:2] == ["kubectl", "apply"]:
            assert words[words.index("-n") + 1] == NAMESPACE, cmd
            manifest = words[words.index("-f") + 1]
            assert (ROOT / manifest).is_file(), f"{where}: {manifest} does not exist"
        if words[:2] == ["helm", "upgrade"]:
            assert words[words.index("--namespace") + 1] == NAMESPACE, cmd
            assert words[words.index("--values") + 1] == "deploy/config.yaml", cmd
    # The exchange volume exists before the hub that mounts it.
    applied = [
        c for c in commands if "nbgrader-exchange.yaml" in c and c.startswith("kubectl apply")
    ]
    helm = [c for c in commands if c.startswith("helm upgrade")]
    assert applied and helm and commands.index(applied[0]) < commands.index(helm[0]), where


# --------------------------------------------------------------------------- #
# The parser itself
# --------------------------------------------------------------------------- #
def test_parser_joins_continuations_and_drops_comments():
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=img:1\n"
        "FROM ${BASE}\n"
        "ENV A=1 \\\n"
        "    # a comment inside the continuation\n"
        "    B=two\n"
        "RUN apt-get update \\\n"
        " && pip install 'x[y]>=1' -q\n"
        'CMD ["run", "me"]\n'
        "COPY --chown=1000:100 a b /dst/\n"
    )
    got = parse_dockerfile(text)
    assert [i.keyword for i in got] == ["ARG", "FROM", "ENV", "RUN", "CMD", "COPY"]
    assert base_image(got) == "img:1"
    assert final_env(got) == {"A": "1", "B": "two"}
    assert pip_installs(got) == ["x[y]>=1"]
    assert got[4].exec_form() == ["run", "me"]
    assert copies(got) == [(["a", "b"], "/dst/")] and got[5].flags == {"chown": "1000:100"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("FROM a\nRUNN echo\n", "unknown instruction 'RUNN'"),
        ("FROM a\nRUN echo \\\n", "ends inside a continued instruction"),
        ('FROM a\nCMD ["x",]\n', "not a JSON array"),
        ("RUN echo\nFROM a\n", "must start with FROM"),
    ],
)
def test_parser_rejects_what_docker_would(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_dockerfile(text)


# --------------------------------------------------------------------------- #
# The allow-list check itself
# --------------------------------------------------------------------------- #
def test_chart_key_check_reports_typos_and_wrong_values():
    """The allow-list check itself: what the chart would silently ignore is an error here."""
    good = {"cull": {"enabled": True, "timeout": 3600, "every": 300}}
    assert chart_key_errors(good, CHART_KEYS) == []
    assert chart_key_errors({"cull": {"timout": 3600}}, CHART_KEYS) == [
        "cull.timout: not a key this configuration may use (CHART_KEYS)"
    ]
    assert chart_key_errors({"cull": {"timeout": "1h"}}, CHART_KEYS) == [
        "cull.timeout: expected int, got '1h'"
    ]
    assert chart_key_errors({"cull": {"enabled": 1}}, CHART_KEYS) == [
        "cull.enabled: expected bool, got 1"
    ]
    assert chart_key_errors({"cull": {"timeout": True}}, CHART_KEYS) == [
        "cull.timeout: expected int, got True"
    ]
    bad = {"prePuller": {"extraTolerations": [{"key": "k", "effect": "NoSchedul"}]}}
    assert chart_key_errors(bad, CHART_KEYS) == [
        "prePuller.extraTolerations[0].effect: 'NoSchedul' is not one of "
        "['NoExecute', 'NoSchedule', 'PreferNoSchedule']"
    ]
    # Unquoted `null` in YAML is None, not the NullAuthenticator's name.
    unquoted = yaml.safe_load("hub: {config: {JupyterHub: {authenticator_class: null}}}")
    assert chart_key_errors(unquoted, CHART_KEYS) == [
        "hub.config.JupyterHub.authenticator_class: expected str, got None"
    ]


# --------------------------------------------------------------------------- #
# Parse
# --------------------------------------------------------------------------- #
def test_yaml_files_parse(conda_env, hub, exchange_manifests, gpu_quota):
    assert conda_env["name"] == "losskit" and "conda-forge" in conda_env["channels"]
    assert isinstance(hub["singleuser"], dict)
    assert [m["kind"] for m in exchange_manifests] == ["PersistentVolumeClaim", "Job"]
    assert gpu_quota["kind"] == "ResourceQuota"


def test_config_uses_only_chart_keys_it_is_allowed_to(hub):
    """Every key path in deploy/config.yaml is in CHART_KEYS, with a value of the right kind."""
    assert chart_key_errors(hub, CHART_KEYS) == []


def test_dockerfile_parses_and_runs_as_jovyan(image):
    """Zero to JupyterHub runs user pods as uid 1000 with /home/jovyan mounted.

    Both images are Jupyter Docker Stacks images, whose base defines NB_UID=1000
    (jovyan) and NB_USER; the last USER must be that user, not root.
    """
    name, instructions = image
    users = [i.rest for i in instructions if i.keyword == "USER"]
    assert users and users[-1] == "${NB_UID}", f"{name}: last USER is {users[-1:]}"
    assert base_image(instructions).startswith("quay.io/jupyter/"), name
    workdirs = [i.rest for i in instructions if i.keyword == "WORKDIR"]
    assert workdirs[-1] == "/home/${NB_USER}", name


def test_copied_files_exist_and_are_not_dockerignored(image):
    """Each COPY source exists in the build context (the repo root) and gets sent."""
    name, instructions = image
    ignore = (DOCKERFILES[name].parent / f"{DOCKERFILES[name].name}.dockerignore").read_text()
    patterns = [p.strip() for p in ignore.splitlines() if p.strip() and not p.startswith("#")]
    for sources, _ in copies(instructions):
        for src in sources:
            assert (ROOT / src).exists(), f"{name}: COPY {src} but the repo has no {src}"
            path, excluded = src.rstrip("/"), False
            for pat in patterns:  # the last matching pattern wins, as in Docker
                negate = pat.startswith("!")
                pat = pat.lstrip("!").rstrip("/")
                if fnmatch.fnmatch(path, pat) or path.startswith(pat + "/"):
                    excluded = not negate
            assert not excluded, f"{name}: {src} is copied but excluded by the .dockerignore"


# --------------------------------------------------------------------------- #
# pyproject.toml <-> environment.yml <-> images
# --------------------------------------------------------------------------- #
def test_environment_yml_lists_every_runtime_and_lab_dependency(pyproject, conda_env):
    specs = conda_specs(conda_env)
    for req in runtime_requirements(pyproject, "lab"):
        name = canonicalize_name(CONDA_NAME.get(req.name, req.name))
        assert name in specs, f"{req} (pyproject.toml) is missing from environment.yml"
        assert SpecifierSet(specs[name]) == req.specifier, (
            f"environment.yml has {name}{specs[name]}, pyproject.toml has {req}"
        )
    nbgrader = dev_requirement(pyproject, "nbgrader")
    assert SpecifierSet(specs["nbgrader"]) == nbgrader.specifier


def test_environment_yml_installs_losskit_itself(conda_env):
    # pip runs the pip section from the file's folder, the repository root.
    assert {"-e .", "."} & set(pip_section(conda_env)), pip_section(conda_env)
    assert "pip" in conda_specs(conda_env)


def test_python_version_is_the_same_everywhere(pyproject, conda_env, images):
    python = conda_specs(conda_env)["python"].lstrip("=")
    assert re.fullmatch(r"3\.\d+", python), f"pin python to a minor version, got {python!r}"
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains(python + ".0")
    # Both images apply environment.yml to the Docker Stacks base env, whose
    # Python is pinned: the image tag must carry the same version.
    for name, instructions in images.items():
        assert base_image(instructions).endswith(f":python-{python}"), name


def test_images_are_built_from_environment_yml(image):
    """Both images: environment.yml into the base env, run where its "-e ." resolves."""
    name, instructions = image
    dest = {src: dst for sources, dst in copies(instructions) for src in sources}
    assert {"environment.yml", "pyproject.toml", "losskit/"} <= set(dest), name
    workdir = None
    for inst in instructions:
        if inst.keyword == "WORKDIR":
            workdir = inst.rest.rstrip("/")
        if inst.keyword == "RUN" and "environment.yml" in inst.rest:
            assert workdir == dest["environment.yml"].rstrip("/"), name
            assert dest["losskit/"].rstrip("/") == f"{workdir}/losskit", name
    update = [c for c in shell_commands(instructions) if c[:3] == ["mamba", "env", "update"]]
    assert update, f"{name}: the image must install its environment from environment.yml"
    argv = update[0]
    assert argv[argv.index("--file") + 1] == "environment.yml"
    # Into the base env, where the Jupyter server (and its widget extensions) live.
    assert argv[argv.index("--name") + 1] == "base"


def test_gpu_image_is_the_cpu_image_plus_cupy(images):
    """Same base, same environment and hub pieces: the GPU image only adds CuPy."""
    assert base_image(images["gpu"]) == base_image(images["cpu"])
    cpu = [c for c in shell_commands(images["cpu"]) if installs(c)]
    gpu = [c for c in shell_commands(images["gpu"]) if installs(c)]
    assert gpu[: len(cpu)] == cpu, "the GPU image must install what the CPU image does, first"
    assert [c[:2] for c in gpu[len(cpu) :]] == [["pip", "install"]]


def test_gpu_image_gets_cupy_with_the_cuda_headers_it_compiles_with(pyproject, images):
    """CuPy 14 compiles its kernels with NVRTC and needs the CUDA headers (<cuda_fp16.h>).

    CuPy wheels no longer ship them, and nvidia/cuda *-runtime images have none: the
    GPU image must get them, here through losskit's gpu extra, cupy-cuda12x[ctk]
    (CUDA libraries, NVRTC and headers from PyPI), and prove it at build time.
    """
    (gpu_req,) = [Requirement(r) for r in pyproject["project"]["optional-dependencies"]["gpu"]]
    assert gpu_req.name == "cupy-cuda12x" and "ctk" in gpu_req.extras, gpu_req
    assert gpu_req.specifier == SpecifierSet(">=14"), "14: ndarray.mT (the models use it)"
    instructions = images["gpu"]
    assert not re.search(r"nvidia/cuda:.*runtime", base_image(instructions)), (
        "an nvidia/cuda runtime base has no CUDA headers"
    )
    # The pip install is the checkout (WORKDIR /opt/losskit) with the gpu extra.
    dest = {src: dst for sources, dst in copies(instructions) for src in sources}
    local = [r for r in pip_installs(instructions) if r.startswith(".")]
    assert local == [".[gpu]"], pip_installs(instructions)
    # The kernel check is copied in and runs (compile-only: no GPU at build time)
    # after CuPy is installed and before the permissions are fixed.
    check_path = dest[str(KERNEL_CHECK.relative_to(ROOT))].rstrip("/") + "/" + KERNEL_CHECK.name
    commands = shell_commands(instructions)
    pip_at = next(i for i, c in enumerate(commands) if c[:2] == ["pip", "install"])
    check_at = commands.index(["python", check_path, "--compile-only"])
    fix_at = commands.index(["fix-permissions", "${CONDA_DIR}"])
    assert pip_at < check_at < fix_at


def test_both_images_carry_the_hub_pieces_with_the_same_bounds(pyproject, conda_env, images):
    """nbgrader (from environment.yml), nbgitpuller and a JupyterHub-5 singleuser server."""
    for name, instructions in images.items():
        pkgs = []
        for argv in shell_commands(instructions):
            if argv[:2] == ["mamba", "install"]:
                pkgs += [w for w in argv[2:] if not w.startswith("-")]
        specs = {canonicalize_name(Requirement(p).name): Requirement(p).specifier for p in pkgs}
        assert specs["jupyterhub-singleuser"] == SpecifierSet(">=5,<6"), name
        assert specs["nbgitpuller"] == SpecifierSet(">=1.2"), name
    assert (
        SpecifierSet(conda_specs(conda_env)["nbgrader"])
        == dev_requirement(pyproject, "nbgrader").specifier
    )


def test_images_leave_the_environment_writable_by_users(image):
    """Docker Stacks convention: fix-permissions after the last install (users can pip install)."""
    name, instructions = image
    commands = shell_commands(instructions)
    last_install = max(i for i, c in enumerate(commands) if installs(c))
    fixes = [i for i, c in enumerate(commands) if c == ["fix-permissions", "${CONDA_DIR}"]]
    assert fixes and fixes[-1] > last_install, f"{name}: no fix-permissions after the last install"


def test_gpu_image_does_not_hand_out_every_gpu(images):
    """The device plugin sets NVIDIA_VISIBLE_DEVICES; an image default of "all" would bypass it."""
    env = final_env(images["gpu"])
    assert "NVIDIA_VISIBLE_DEVICES" not in env
    assert set(env["NVIDIA_DRIVER_CAPABILITIES"].split(",")) >= {"compute", "utility"}
    assert env["LOSSKIT_BACKEND"] == "cupy,numpy"


def _cupy_usable() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


@pytest.mark.skipif(not _cupy_usable(), reason="cupy.cuda.is_available() is False")
def test_cupy_kernel_check_passes_on_this_machine():
    """The image's kernel check, in full (compile and run), on a GPU node (make gpu-check)."""
    result = subprocess.run(
        [sys.executable, str(KERNEL_CHECK)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


# --------------------------------------------------------------------------- #
# Who can log in
# --------------------------------------------------------------------------- #
def test_hub_fails_closed_not_an_open_dummy_hub(hub, readme):
    """z2jh's default authenticator is "dummy", which in JupyterHub 5 admits anyone.

    The shipped config must name an authenticator that admits nobody ("null",
    JupyterHub's NullAuthenticator, as a string: unquoted YAML null would bring
    the chart's default back) and must not allow everyone.
    """
    config = hub["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "null"
    assert config["Authenticator"]["allow_all"] is False
    open_ones = {"dummy", "DummyAuthenticator", "shared-password", "SharedPasswordAuthenticator"}
    assert not open_ones & set(config), "no dummy/shared-password authenticator config"
    prose = " ".join(readme.split())
    assert '`"null"`' in prose and "never use `dummy` on a hub students can reach" in prose


# --------------------------------------------------------------------------- #
# The hub's profiles
# --------------------------------------------------------------------------- #
def test_gpu_profile_asks_for_one_gpu_on_a_gpu_node_and_selects_cupy(hub, readme):
    gpu = profiles(hub)["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert gpu["environment"] == {"LOSSKIT_BACKEND": "cupy"}
    assert gpu["image"].split(":")[0].endswith("losskit-gpu")
    # GPU Feature Discovery's label, with its exact value, and the GPU taint.
    assert gpu["node_selector"] == {"nvidia.com/gpu.present": "true"}
    assert gpu["tolerations"] == [GPU_TOLERATION]
    # The README tells the admin to set up exactly that label and taint.
    ((label, value),) = gpu["node_selector"].items()
    assert f"`{label}={value}`" in readme
    assert f"`{GPU_TOLERATION['key']}:{GPU_TOLERATION['effect']}`" in readme


def test_cpu_profile_is_the_default_and_asks_for_no_gpu(hub):
    cpu_profile = profiles(hub)["cpu"]
    cpu = cpu_profile["kubespawner_override"]
    assert cpu_profile.get("default") is True
    assert "extra_resource_limits" not in cpu and "tolerations" not in cpu
    assert cpu["environment"] == {"LOSSKIT_BACKEND": "numpy"}
    image = hub["singleuser"]["image"]
    assert cpu["image"] == f"{image['name']}:{image['tag']}"
    assert image["name"].endswith("losskit-cpu")


def test_profiles_have_sane_resources_and_versioned_images(hub, pyproject):
    version = pyproject["project"]["version"]
    assert set(profiles(hub)) == {"cpu", "gpu"}
    for slug, profile in profiles(hub).items():
        o = profile["kubespawner_override"]
        assert 0 < quantity(o["cpu_guarantee"]) <= quantity(o["cpu_limit"]), slug
        assert 0 < quantity(o["mem_guarantee"]) <= quantity(o["mem_limit"]), slug
        assert o["image"].endswith(f":{version}"), f"{slug}: tag the image with {version}"
    # The GPU user gets more of everything: the (4096, 50,000) lesson needs it.
    cpu, gpu = (profiles(hub)[s]["kubespawner_override"] for s in ("cpu", "gpu"))
    assert quantity(gpu["mem_limit"]) > quantity(cpu["mem_limit"])


def test_image_pullers_reach_the_gpu_nodes_and_first_spawns_have_time(hub, readme):
    """The puller DaemonSet's tolerations come from prePuller.extraTolerations (and two
    lists this config leaves empty); without the GPU toleration it skips the GPU nodes."""
    assert hub["prePuller"]["extraTolerations"] == [GPU_TOLERATION]
    assert profiles(hub)["gpu"]["kubespawner_override"]["tolerations"] == [GPU_TOLERATION]
    assert "extraTolerations" not in hub["singleuser"]
    assert "scheduling" not in hub
    # The chart's default start timeout is 300 s; a first GPU pull needs longer.
    assert hub["singleuser"]["startTimeout"] == 600
    assert "`singleuser.startTimeout: 600`" in readme


def test_idle_servers_are_culled_after_an_hour(hub, readme):
    assert hub["cull"] == {"enabled": True, "timeout": 3600, "every": 300}
    assert f"`cull.timeout: {hub['cull']['timeout']}`" in readme
    assert f"`every: {hub['cull']['every']}`" in readme


def test_course_is_pulled_into_each_home_where_students_land(hub, pyproject):
    argv = hub["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert argv[:2] == ["sh", "-c"]
    words = shlex.split(argv[2])
    i = words.index("gitpuller")
    url, branch, target = words[i + 1 : i + 4]
    repo = pyproject["project"]["urls"]["Documentation"].split("#")[0]
    # The lessons branch, never main: main carries assignment solutions and hidden tests.
    assert url == repo and branch == "lessons"
    assert "git subtree split --prefix=notebooks -b lessons" in (ROOT / "Makefile").read_text()
    # Students open the pulled notebooks: defaultUrl is the pulled folder.
    assert hub["singleuser"]["defaultUrl"] == f"/lab/tree/{target}"


@pytest.mark.parametrize("gitpuller_status", [0, 1])
def test_post_start_hook_pulls_in_home_and_never_fails(hub, tmp_path, gitpuller_status):
    """Run the hook's command with a stand-in gitpuller: it runs in $HOME with the
    repo, branch and folder, and the hook exits 0 even when the pull fails (a
    failing postStart hook kills the pod)."""
    argv = hub["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    fake = bin_dir / "gitpuller"
    fake.write_text(
        f'#!/bin/sh\npwd > "$HOME/called"\necho "$@" >> "$HOME/called"\nexit {gitpuller_status}\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(home)}
    result = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    where, args = (home / "called").read_text().splitlines()
    assert where == str(home)
    assert args == "https://github.com/losskit/losskit lessons lessons"
    assert ("starting anyway" in result.stderr) == bool(gitpuller_status)


def test_lessons_branch_holds_the_lessons_and_no_assignment_sources(tmp_path):
    """`make lessons-branch` on a scratch repo with this tree's notebooks/ and assignments/."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "notebooks", repo / "notebooks")
    shutil.copytree(ROOT / "assignments" / "source", repo / "assignments" / "source")
    shutil.copy(ROOT / "Makefile", repo / "Makefile")

    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "course")
    subprocess.run(["make", "-s", "lessons-branch"], cwd=repo, check=True, capture_output=True)
    files = git("ls-tree", "-r", "--name-only", "lessons").split()
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(f for f in files if f.endswith(".ipynb") and "/" not in f) == lessons
    assert not any(f.startswith("assignments") for f in files)
    for f in files:
        text = git("show", f"lessons:{f}")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, f


# --------------------------------------------------------------------------- #
# A class of 200, and who gets a GPU
# --------------------------------------------------------------------------- #
def test_a_whole_class_can_spawn_at_once(hub, readme):
    """z2jh lets 64 servers start at once by default; a 200-student lecture needs 200."""
    assert hub["hub"]["concurrentSpawnLimit"] == 200
    assert "`hub.concurrentSpawnLimit`" in readme and "sets it to 200" in readme


def test_gpu_spawns_beyond_the_pool_are_refused_at_once(hub, gpu_quota, readme):
    """The quota caps GPU requests in the namespace; each GPU server requests exactly one,
    so the quota is the number of concurrent GPU servers. Refused spawns must not make
    the hub restart itself (consecutiveFailureLimit 0)."""
    assert gpu_quota["apiVersion"] == "v1"
    # Extended resources are quota'd only through the requests. prefix.
    ((key, value),) = gpu_quota["spec"]["hard"].items()
    assert key == "requests.nvidia.com/gpu"
    assert isinstance(value, str) and value.isdigit() and int(value) >= 1
    assert profiles(hub)["gpu"]["kubespawner_override"]["extra_resource_limits"] == {
        "nvidia.com/gpu": "1"
    }
    assert hub["hub"]["consecutiveFailureLimit"] == 0
    assert "kubectl apply -n losskit -f deploy/gpu-quota.yaml" in readme_commands(readme)


def _user(name, groups=(), admin=False):
    return SimpleNamespace(name=name, admin=admin, groups=[SimpleNamespace(name=g) for g in groups])


def test_gpu_profile_is_offered_only_to_the_gpu_group_and_admins(hub):
    """Run the hub.extraConfig snippet the way the hub does (after the chart has set
    c.KubeSpawner.profile_list from singleuser.profileList) and ask it per user."""
    from traitlets.config import Config

    c = Config()
    c.KubeSpawner.profile_list = list(hub["singleuser"]["profileList"])
    for name, source in sorted(hub["hub"]["extraConfig"].items()):
        exec(compile(source, name, "exec"), {"c": c})
    profile_list = c.KubeSpawner.profile_list
    assert callable(profile_list), "profile_list must be filtered per user"

    def slugs(user):
        return [p["slug"] for p in profile_list(SimpleNamespace(user=user))]

    assert slugs(_user("student")) == ["cpu"]
    assert slugs(_user("student", groups=["other"])) == ["cpu"]
    assert slugs(_user("student", groups=[GPU_GROUP])) == ["cpu", "gpu"]
    assert slugs(_user("instructor", admin=True)) == ["cpu", "gpu"]
    # The profiles are handed over whole (KubeSpawner applies their overrides),
    # and the pre-puller still sees both images in singleuser.profileList.
    assert profile_list(SimpleNamespace(user=_user("i", admin=True))) == list(
        hub["singleuser"]["profileList"]
    )


# --------------------------------------------------------------------------- #
# Install order (README and the files' own headers)
# --------------------------------------------------------------------------- #
def test_install_steps_create_the_namespace_before_using_it(readme):
    check_install_order(readme_commands(readme), "deploy/README.md")
    assert f"kubectl -n {NAMESPACE} wait --for=condition=complete job/nbgrader-exchange-init" in (
        " ".join(readme_commands(readme))
    )


def test_config_header_gives_the_same_install_order():
    check_install_order(header_commands((DEPLOY / "config.yaml").read_text()), "config.yaml")


# --------------------------------------------------------------------------- #
# nbgrader
# --------------------------------------------------------------------------- #
def test_exchange_is_shared_storage_at_nbgrader_exchange_root(hub, exchange_manifests, tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    storage = hub["singleuser"]["storage"]
    extra = hub["singleuser"]["extraFiles"]["nbgrader-config"]
    # Load the file the way nbgrader will: through traitlets' Python config loader.
    (tmp_path / "nbgrader_config.py").write_text(extra["stringData"])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert extra["mountPath"] == "/etc/jupyter/nbgrader_config.py"  # on jupyter's config path
    assert config.CourseDirectory.course_id
    root = config.Exchange.root

    mounts = {m["name"]: m["mountPath"] for m in storage["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in storage["extraVolumes"]}
    (name,) = [n for n, path in mounts.items() if path == root]
    claim = volumes[name]["persistentVolumeClaim"]["claimName"]

    pvc, job = exchange_manifests
    assert pvc["metadata"]["name"] == claim
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"], "every user pod mounts it"
    pod = job["spec"]["template"]["spec"]
    job_claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    (container,) = pod["containers"]
    (mount,) = container["volumeMounts"]
    assert job_claims[mount["name"]] == claim and mount["mountPath"] == root
    assert f"chmod 0777 {root}" in container["command"][-1]


def test_hub_nbgrader_config_agrees_with_the_course_root(hub, tmp_path):
    """Students (hub config) and instructor (assignments/) share course id and exchange layout."""
    from traitlets.config.loader import PyFileConfigLoader

    course = ROOT / "assignments" / "nbgrader_config.py"
    assert course.is_file(), "the course root's nbgrader_config.py is missing"
    repo = PyFileConfigLoader(course.name, path=str(course.parent)).load_config()
    (tmp_path / "nbgrader_config.py").write_text(
        hub["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"]
    )
    hub_cfg = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert hub_cfg.CourseDirectory.course_id == repo.CourseDirectory.course_id
    for key, value in repo.Exchange.items():
        if key != "root":  # the course root leaves the exchange root to the hub
            assert hub_cfg.Exchange[key] == value, f"Exchange.{key} differs"


def test_readme_says_what_one_uid_does_to_the_exchange(hub, exchange_manifests, readme):
    """Every pod runs as the same uid (the config sets no per-user uid) on one 0777 volume:
    nbgrader's file modes protect nothing, and the README must say so plainly."""
    assert "uid" not in hub["singleuser"], "a per-user uid would change this analysis"
    assert (
        "chmod 0777"
        in exchange_manifests[1]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    )
    exchange = readme.split("**What the exchange does not protect.**")[1].split("**Formgrader")[0]
    for claim in (
        "read and copy every other student's submission",
        "overwrite or delete other students' submissions",
        "change or delete the released assignment",
        "`jupyter-core<4.11.2`",
        "untested with this stack",
        "**Autograding.**",
        "`source/`",
    ):
        assert claim in " ".join(exchange.split()), claim


def test_readme_says_where_autograde_can_sandbox(readme):
    """A default pod cannot create namespaces: the README says where grading is protected."""
    text = " ".join(readme.split("**Autograding.**")[1].split("**Formgrader")[0].split())
    for claim in (
        "bubblewrap",
        "default seccomp profile",
        "A grading machine or VM",
        "Tested.",
        "seccompProfile.type: Unconfined",
        "Not tested here",
        "--SandboxedExecute.sandbox=none",
    ):
        assert claim in text, claim


def test_the_cpu_image_installs_bubblewrap():
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile.cpu").read_text()
    assert "apt-get install -y --no-install-recommends bubblewrap" in dockerfile


def test_readme_opens_the_formgrader_where_nbgrader_serves_it(readme):
    """JupyterHub >= 4.1 refuses to be framed, so the Formgrader menu's iframe stays blank;
    the README sends instructors to the formgrader's own URL, which nbgrader serves."""
    from nbgrader.server_extensions.formgrader.handlers import default_handlers

    url = re.search(r"`https://<your hub>/user/<your username>(/formgrader)`", readme)
    assert url, "the README must give the formgrader's direct URL"
    assert any(re.fullmatch(pattern, url.group(1)) for pattern, _ in default_handlers)
    assert "blank" in readme and "enable_subdomains" in readme


# --------------------------------------------------------------------------- #
# Binder
# --------------------------------------------------------------------------- #
def test_binder_reads_the_root_environment_yml():
    """repo2docker ignores root-level files as soon as binder/ or .binder/ exists."""
    for folder in ("binder", ".binder"):
        if (ROOT / folder).is_dir():
            assert (ROOT / folder / "environment.yml").exists(), (
                f"{folder}/ exists, so repo2docker will ignore the root environment.yml"
            )
    assert (ROOT / "notebooks").is_dir()  # what the Binder link opens (urlpath=lab/tree/notebooks)


# --------------------------------------------------------------------------- #
# LOSSKIT_BACKEND, for real, in a fresh interpreter
# --------------------------------------------------------------------------- #
def _run(code: str, backend: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LOSSKIT_BACKEND"}
    env |= {"LOSSKIT_BACKEND": backend, "PYTHONWARNINGS": "default"}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


GET = "import losskit; print(losskit.get_backend().name)"


def test_backend_cupy_on_this_machine():
    """LOSSKIT_BACKEND=cupy: CuPy where a GPU is usable, else a clear error, no fallback."""
    result = _run(GET, "cupy")
    if _cupy_usable():
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["cupy"]
        return
    assert result.returncode != 0, f"fell back silently: {result.stdout!r}"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: backend 'cupy' is not usable here:")
    assert "Available backends: 'numpy'" in last
    assert "LOSSKIT_BACKEND='cupy'" in last
    assert "CuPy" in last  # why: not installed, or no GPU
    assert result.stdout == ""


def test_backend_preference_list_falls_back_to_numpy_with_a_warning():
    result = _run(GET, "cupy,numpy")
    assert result.returncode == 0, result.stderr
    if _cupy_usable():
        assert result.stdout.split() == ["cupy"] and "BackendFallbackWarning" not in result.stderr
        return
    assert result.stdout.split() == ["numpy"]
    assert "BackendFallbackWarning" in result.stderr
    assert "falling back to 'numpy'" in result.stderr


def test_gpu_benchmark_without_a_gpu_says_so():
    if _cupy_usable():
        pytest.skip("a GPU is usable: run make bench-gpu instead")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == cli.SKIPPED, result.stdout + result.stderr
    assert result.stdout.startswith("no CUDA GPU: nothing to measure")


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_gpu_targets_exist():
    text = (ROOT / "Makefile").read_text()
    phony = " ".join(re.findall(r"^\.PHONY:(.*)$", text, flags=re.M)).split()
    assert {"gpu-check", "bench-gpu"} <= set(phony)
    dry = subprocess.run(
        ["make", "-n", "gpu-check"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert dry.returncode == 0, dry.stderr
    assert "LOSSKIT_BACKEND=cupy" in dry.stdout and "-k cupy" in dry.stdout
    assert "benchmarks/bench_gpu.py" in dry.stdout


# ----------------------------------------------------------- one course, two deployments


def _course_settings():
    sys.path.insert(0, str(DEPLOY))
    try:
        import course_settings
    finally:
        sys.path.remove(str(DEPLOY))
    return course_settings


def test_config_yaml_is_generated_from_the_course_settings():
    cs = _course_settings()
    assert (DEPLOY / "config.yaml").read_text() == cs.render(), (
        "deploy/config.yaml is stale: run python deploy/course_settings.py"
    )
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "course_settings.py"), "--check"], capture_output=True
    )
    assert done.returncode == 0, done.stderr


def test_both_deployments_read_the_same_course_values(hub):
    cs = _course_settings()
    settings = cs.load()
    course = settings["course"]
    single = yaml.safe_load(cs.render(settings))
    text = json.dumps(single)
    assert course["exchange"] in text and course["id"] in text
    assert single["cull"]["timeout"] == course["idle_timeout_s"]
    # the single-machine hub: course_hub.py loads course.toml into the state file
    # that jupyterhub_config.py reads
    course_hub = (DEPLOY / "hub" / "course_hub.py").read_text()
    assert "course_settings.load(args.settings)" in course_hub
    hub_config = (DEPLOY / "hub" / "jupyterhub_config.py").read_text()
    assert "state['idle_timeout_s']" in hub_config
    changed = {**settings, "course": {**course, "idle_timeout_s": 1234}}
    assert yaml.safe_load(cs.render(changed))["cull"]["timeout"] == 1234


def test_course_settings_name_what_is_missing(tmp_path):
    cs = _course_settings()
    bad = tmp_path / "course.toml"
    bad.write_text('[course]\nid = "x"\n[hub]\nip = "127.0.0.1"\nport = 1\nprefix = "/p"\n')
    with pytest.raises(ValueError, match=r"\[course\] needs exchange, lessons, idle_timeout_s"):
        cs.load(bad)
