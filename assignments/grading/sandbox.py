"""The sandbox a student's kernel runs in: one bubblewrap command line.

Inside, the kernel sees only:

- ``/usr`` and the Python it runs on (the grading environment's prefix and its
  base installation), read-only, with losskit, SciPy, scikit-learn, PyTorch and
  JAX masked (each package folder replaced by one whose ``__init__`` raises
  ``ModuleNotFoundError``): they cannot be imported, so the graded functions are
  the student's own work with NumPy;
- ``/release`` (read-only): the files the assignment was released with;
- ``/submission``, its working folder: a size-limited in-memory folder holding a
  copy of ``/release``, the only place it may write besides ``/tmp``;
- ``/tmp`` (private, size-limited), a fresh ``/proc`` and ``/dev``;
- the folder with its own kernel's socket files, and this package, read-only.

It has no network (its own network namespace), its own process, IPC and UTS
namespaces, and runs as an unprivileged user: when grading runs as root, a
dedicated uid per sandbox (``setpriv`` drops every capability and group); for
any other user, bubblewrap's user namespace maps that user to ``nobody`` and
forbids further user namespaces. Limits (``prlimit``): address space, CPU
seconds, processes and threads, file size, open files, no core dumps.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BLOCKED_LIBRARIES = ("losskit", "scipy", "sklearn", "torch", "jax", "jaxlib")
PACKAGE_DIR = Path(__file__).resolve().parent
INSIDE_PACKAGE_ROOT = "/opt/losskit-grading"
INSIDE_RELEASE = "/release"
INSIDE_SUBMISSION = "/submission"
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    "bubblewrap) and util-linux (setpriv, prlimit)"
)


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use (per process where the kernel says so)."""

    memory_bytes: int = 2 * 2**30  # address space of each process
    cpu_seconds: int = 120  # CPU time of each process
    processes: int = 64  # processes and threads of the sandbox's user
    file_bytes: int = 64 * 2**20  # largest file it may write
    open_files: int = 256
    tmp_bytes: int = 64 * 2**20  # size of /tmp
    scratch_bytes: int = 256 * 2**20  # size of /submission


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or setpriv/prlimit) is missing or cannot make a sandbox here."""


def _python_roots() -> list[str]:
    roots = []
    for p in (sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))):
        for q in (p, os.path.realpath(p)):
            if q.endswith("/bin"):
                q = os.path.dirname(q)
            if q and q not in roots and not q.startswith("/usr/"):
                roots.append(q)
    # a root inside another root is already bound
    return [r for r in roots if not any(r != o and r.startswith(o + "/") for o in roots)]


def _masks(roots: list[str]) -> list[str]:
    """Installed copies of the blocked libraries under the bound folders."""
    patterns = []
    for root in [*roots, "/usr", "/usr/local"]:
        for sub in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3"):
            for lib in BLOCKED_LIBRARIES:
                patterns += [f"{root}/{sub}/{lib}{end}" for end in ("", ".py", ".libs")]
    found = set()
    for pattern in patterns:
        found.update(glob.glob(pattern))
    return sorted(found)


def _with_parents(path: str, seen: set[str]) -> list[str]:
    """``--dir`` arguments (mode 0755) for the parents bubblewrap would create 0700 as root."""
    args = []
    parts = Path(path).parts[1:-1]
    for i in range(len(parts)):
        parent = "/" + "/".join(parts[: i + 1])
        if parent not in seen and parent not in ("/usr", "/tmp"):
            seen.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def _nproc_allowance(limits: Limits, as_root: bool) -> int:
    """RLIMIT_NPROC counts every task of the real uid: outside root mode, add what runs already."""
    if as_root:
        return limits.processes
    uid, count = os.getuid(), 0
    for task in glob.glob("/proc/[0-9]*/task/[0-9]*"):
        try:
            if os.stat(task).st_uid == uid:
                count += 1
        except OSError:
            continue
    return count + limits.processes


def sandbox_uid(uids: range) -> int:
    """The uid for a sandbox started by this process (one at a time per grading process)."""
    return uids.start + os.getpid() % len(uids)


def command(
    inner: list[str],
    *,
    bwrap: str,
    release_dir: str,
    socket_dir: str,
    limits: Limits,
    uid: int | None,
    env: dict[str, str],
) -> list[str]:
    """The argv that runs ``inner`` (the kernel) in the sandbox; ``uid`` set only as root."""
    as_root = uid is not None
    args = [
        bwrap,
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "grading",
        "--die-with-parent",
        "--new-session",
    ]
    if as_root:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = f"/{name}"
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    # /tmp first: a Python root inside it (a checkout in /tmp) is bound over the tmpfs,
    # not hidden by it
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    seen: set[str] = set()
    roots = _python_roots()
    for root in roots:
        args += _with_parents(root + "/x", seen) + ["--ro-bind", root, root]
    stub = str(PACKAGE_DIR / "_blocked.py")  # an empty folder would import as a namespace
    for masked in _masks(roots):
        if os.path.isdir(masked):
            args += ["--tmpfs", masked, "--ro-bind", stub, f"{masked}/__init__.py"]
        else:
            args += ["--ro-bind", stub, masked]
    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", INSIDE_SUBMISSION]
    args += ["--ro-bind", release_dir, INSIDE_RELEASE]
    args += _with_parents(socket_dir + "/x", seen) + ["--bind", socket_dir, socket_dir]
    inside_package = f"{INSIDE_PACKAGE_ROOT}/{PACKAGE_DIR.name}"
    args += _with_parents(inside_package, seen) + ["--ro-bind", str(PACKAGE_DIR), inside_package]
    args += ["--chdir", INSIDE_SUBMISSION, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args.append("--")
    if as_root:
        args += [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ]
    args += [
        "prlimit",
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}",
        f"--nproc={_nproc_allowance(limits, as_root)}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]
    return args + inner


def kernel_env(python: str) -> dict[str, str]:
    """The student kernel's whole environment (nothing of the grader's leaks in)."""
    return {
        "HOME": "/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "PATH": f"{os.path.dirname(python)}:/usr/bin:/bin",
        "PYTHONPATH": INSIDE_PACKAGE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "NBGRADER_EXECUTION": "autograde",
        "IPYTHONDIR": "/tmp/.ipython",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "MPLBACKEND": "agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def check(bwrap: str = "bwrap") -> None:
    """Raise ``SandboxUnavailable`` (saying what to install or why) unless a sandbox can start."""
    missing = [tool for tool in (bwrap, "prlimit") if shutil.which(tool) is None]
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        missing.append("setpriv")
    if missing:
        raise SandboxUnavailable(
            f"cannot sandbox student code: {', '.join(missing)} not found on PATH; " + INSTALL_HINT
        )
    probe = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--ro-bind", "/usr", "/usr"]
    if os.geteuid() != 0:
        probe += ["--unshare-user", "--disable-userns"]
    for name in ("bin", "lib", "lib64"):
        if os.path.islink(f"/{name}"):
            probe += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    probe += ["--", "/usr/bin/true"]
    result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap is installed but cannot create a sandbox here: "
            f"{result.stderr.strip() or result.returncode}. It needs user or mount namespaces "
            "(a container's default seccomp profile refuses them: grade on a VM, or in a pod "
            "allowed to create namespaces; see deploy/README.md)"
        )
