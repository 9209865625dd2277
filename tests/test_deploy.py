"""The deployment files, read the way their tools read them and cross-checked.

No Docker engine or Kubernetes runs here, so: YAML through PyYAML, Dockerfiles
through a small instruction parser (below), the hub's nbgrader config through
traitlets' own config loader, and every version bound against pyproject.toml.
The backend variable is checked for real, in a fresh interpreter.
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
# conda-forge names that differ from the PyPI ones (matplotlib-base: no Qt GUI).
CONDA_NAME = {"matplotlib": "matplotlib-base"}
# Ubuntu release -> the python3 it ships (the GPU image uses Ubuntu's Python).
UBUNTU_PYTHON = {"22.04": "3.10", "24.04": "3.12"}


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
# Parse
# --------------------------------------------------------------------------- #
def test_yaml_files_parse(conda_env, hub, exchange_manifests):
    assert conda_env["name"] == "losskit" and "conda-forge" in conda_env["channels"]
    assert isinstance(hub["singleuser"], dict)
    assert [m["kind"] for m in exchange_manifests] == ["PersistentVolumeClaim", "Job"]


def test_dockerfile_parses_and_runs_as_jovyan(image):
    """Zero to JupyterHub runs user pods as uid 1000 with /home/jovyan mounted."""
    name, instructions = image
    users = [i.rest for i in instructions if i.keyword == "USER"]
    assert users, f"{name}: no USER"
    if name == "cpu":  # Docker Stacks defines NB_UID=1000 (jovyan) in the base image
        assert users[-1] == "${NB_UID}"
        return
    args = {}
    for inst in instructions:
        if inst.keyword == "ARG":
            args.update(env_pairs(inst))
    assert substitute(users[-1], args) == "1000" and args["NB_USER"] == "jovyan"
    useradd = [c for c in shell_commands(instructions) if c[:1] == ["useradd"]]
    assert useradd and useradd[0][useradd[0].index("--uid") + 1] == "${NB_UID}"
    assert final_env(instructions)["HOME"] == "/home/${NB_USER}"


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
    # The CPU image applies environment.yml to the Docker Stacks base env, whose
    # Python is pinned: the image tag must carry the same version.
    assert base_image(images["cpu"]).endswith(f":python-{python}")
    ubuntu = re.search(r"ubuntu(\d+\.\d+)", base_image(images["gpu"])).group(1)
    assert UBUNTU_PYTHON[ubuntu] == python


def test_cpu_image_is_built_from_environment_yml(images):
    instructions = images["cpu"]
    dest = {src: dst for sources, dst in copies(instructions) for src in sources}
    assert {"environment.yml", "pyproject.toml", "losskit/"} <= set(dest)
    # The env file's "-e ." resolves against its folder: run it from there.
    workdir = None
    for inst in instructions:
        if inst.keyword == "WORKDIR":
            workdir = inst.rest.rstrip("/")
        if inst.keyword == "RUN" and "environment.yml" in inst.rest:
            assert workdir == dest["environment.yml"].rstrip("/")
            assert dest["losskit/"].rstrip("/") == f"{workdir}/losskit"
    update = [c for c in shell_commands(instructions) if c[:3] == ["mamba", "env", "update"]]
    assert update, "the CPU image must install its environment from environment.yml"
    argv = update[0]
    assert argv[argv.index("--file") + 1] == "environment.yml"
    # Into the base env, where the Jupyter server (and its widget extensions) live.
    assert argv[argv.index("--name") + 1] == "base"


def test_gpu_image_pip_installs_losskit_with_the_gpu_and_lab_extras(pyproject, images):
    instructions = images["gpu"]
    dest = {src: dst for sources, dst in copies(instructions) for src in sources}
    src_dir = dest["pyproject.toml"].rstrip("/")
    assert dest["losskit/"].rstrip("/") == f"{src_dir}/losskit"
    local = [r for r in pip_installs(instructions) if r.startswith(src_dir)]
    assert len(local) == 1, pip_installs(instructions)
    extras = set(re.fullmatch(r".*\[([\w,]+)\]", local[0]).group(1).split(","))
    assert {"gpu", "lab"} <= extras <= set(pyproject["project"]["optional-dependencies"])
    gpu = [Requirement(r).name for r in pyproject["project"]["optional-dependencies"]["gpu"]]
    assert any(n.startswith("cupy-cuda12") for n in gpu), gpu
    # cupy-cuda12x needs a CUDA 12 base image.
    assert re.search(r"nvidia/cuda:12\.[\d.]+-(cudnn-)?runtime", base_image(instructions))


def test_both_images_carry_the_hub_pieces_with_the_same_bounds(pyproject, conda_env, images):
    """nbgrader (as environment.yml), nbgitpuller and a JupyterHub-5 singleuser server."""
    cpu_pkgs = []
    for argv in shell_commands(images["cpu"]):
        if argv[:2] == ["mamba", "install"]:
            cpu_pkgs += [w for w in argv[2:] if not w.startswith("-")]
    cpu = {canonicalize_name(Requirement(p).name): Requirement(p).specifier for p in cpu_pkgs}
    gpu = {
        canonicalize_name(Requirement(p).name): Requirement(p).specifier
        for p in pip_installs(images["gpu"])
        if not p.startswith("/")
    }
    assert cpu["nbgitpuller"] == gpu["nbgitpuller"]
    # conda-forge splits the single-user server out; on PyPI it is jupyterhub.
    assert cpu["jupyterhub-singleuser"] == gpu["jupyterhub"] == SpecifierSet(">=5,<6")
    # nbgrader: the CPU image gets it from environment.yml, the GPU image by pip.
    assert gpu["nbgrader"] == SpecifierSet(conda_specs(conda_env)["nbgrader"])
    assert gpu["nbgrader"] == dev_requirement(pyproject, "nbgrader").specifier
    # nbgitpuller runs git: Docker Stacks' minimal-notebook ships it; the GPU image installs it.
    assert "minimal-notebook" in base_image(images["cpu"])
    apt = [c for c in shell_commands(images["gpu"]) if c[:2] == ["apt-get", "install"]]
    assert apt and "git" in apt[0]


# --------------------------------------------------------------------------- #
# The hub's profiles
# --------------------------------------------------------------------------- #
def test_gpu_profile_asks_for_one_gpu_and_selects_cupy(hub):
    gpu = profiles(hub)["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert gpu["environment"]["LOSSKIT_BACKEND"] == "cupy"
    assert gpu["image"].split(":")[0].endswith("losskit-gpu")
    assert any(t["key"] == "nvidia.com/gpu" for t in gpu["tolerations"])
    assert gpu["node_selector"]


def test_cpu_profile_is_the_default_and_asks_for_no_gpu(hub):
    cpu_profile = profiles(hub)["cpu"]
    cpu = cpu_profile["kubespawner_override"]
    assert cpu_profile.get("default") is True
    assert "extra_resource_limits" not in cpu and "tolerations" not in cpu
    assert cpu["environment"]["LOSSKIT_BACKEND"] == "numpy"
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


def test_course_is_pulled_into_each_home_where_students_land(hub, pyproject):
    argv = hub["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    script = argv[-1]
    words = shlex.split(script)
    i = words.index("gitpuller")
    url, branch, target = words[i + 1 : i + 4]
    repo = pyproject["project"]["urls"]["Documentation"].split("#")[0]
    # The lessons branch, never main: main carries assignment solutions and hidden tests.
    assert url == repo and branch == "lessons"
    assert "git subtree split --prefix=notebooks -b lessons" in (ROOT / "Makefile").read_text()
    # Students open the pulled notebooks: defaultUrl is the pulled folder.
    assert hub["singleuser"]["defaultUrl"] == f"/lab/tree/{target}"
    assert "||" in script, "a failed pull must not stop the server from starting"


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
def _cupy_usable() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


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
