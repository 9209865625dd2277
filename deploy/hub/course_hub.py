"""A real course hub on one machine: JupyterHub, real Unix accounts, nbgrader's exchange.

    sudo python3 deploy/hub/course_hub.py up --roster deploy/hub/roster.demo.csv --create-users
    sudo python3 deploy/hub/course_hub.py stop

``setup`` (part of ``up``), as root:

- an environment every user can run, under ``[hub] prefix`` of deploy/course.toml
  (``/opt/losskit-hub``): a virtual environment made from a Python outside
  any home folder, with losskit, JupyterLab, nbgrader, JupyterHub and the idle
  culler, and configurable-http-proxy from npm;
- the accounts of the roster (``username,role[,password]``, role ``instructor``
  or ``student``): with ``--create-users`` missing ones are made (``useradd``,
  the roster's password or a random one, written to ``demo-passwords.txt``,
  mode 0600); otherwise they must exist. Every home is made mode 0700;
- nbgrader's exchange (world-writable, as nbgrader documents) and course id for
  every user; for each instructor a course root ``~/course`` (a copy of
  ``assignments/``, mode 0700) found by the Formgrader; the lessons in every
  home's ``lessons/``.

``start`` (part of ``up``) checks those modes, then runs JupyterHub in the
foreground on 127.0.0.1 (PAM logins, each user's server as that user, the CPU
profile's backend); Ctrl-C or ``stop`` ends the hub, the proxy and every user's
server, and checks that no process of a roster user is left.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import course_settings  # noqa: E402

HUB_REQUIREMENTS = ["jupyterhub>=5,<6", "jupyterhub-idle-culler>=1.4"]
PROXY_PACKAGE = "configurable-http-proxy@4"
#: JupyterLab settings for every user of the hub (as `make lab` installs them).
LAB_OVERRIDES = ROOT / "jupyter-settings" / "overrides.json"
ROLES = ("instructor", "student")


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    password: str = ""


class HubError(RuntimeError):
    """A reason the hub cannot be set up or started, with what to do."""


def read_roster(path: Path) -> list[Member]:
    """The roster file: ``username,role[,password]`` per line, ``#`` comments."""
    members, seen = [], set()
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    for number, row in enumerate(rows, 1):
        row = [c.strip() for c in row]
        if row[0] == "username":
            continue
        if len(row) < 2 or row[1] not in ROLES:
            raise HubError(
                f"{path}, entry {number}: expected 'username,role[,password]' with role "
                f"{' or '.join(ROLES)}; got {','.join(row)!r}"
            )
        name = row[0]
        if not name.replace("_", "").replace("-", "").isalnum() or not name[0].isalpha():
            raise HubError(f"{path}: {name!r} is not a valid user name (letters, digits, - and _)")
        if name in seen:
            raise HubError(f"{path}: {name} appears twice")
        seen.add(name)
        members.append(Member(name, row[1], row[2] if len(row) > 2 else ""))
    if not any(m.role == "instructor" for m in members):
        raise HubError(f"{path}: the roster needs at least one instructor")
    return members


class Hub:
    """Paths and settings of one hub, from deploy/course.toml and the command line."""

    def __init__(self, settings: dict, prefix: str | None = None, python: str = "/usr/bin/python3"):
        self.settings = settings
        self.prefix = Path(prefix or settings["hub"]["prefix"])
        self.python = python
        self.venv = self.prefix / "venv"
        self.state = self.prefix / "state"
        self.proxy = self.prefix / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
        self.exchange = Path(settings["course"]["exchange"])

    # ------------------------------------------------------------------ setup

    def check_tools(self) -> None:
        if os.geteuid() != 0:
            raise HubError(
                "the course hub runs as root (it logs users in and starts their servers)"
            )
        missing = [
            t for t in ("useradd", "chpasswd", "npm", "node", "bwrap") if not shutil.which(t)
        ]
        if missing:
            raise HubError(
                f"missing: {', '.join(missing)}. On Debian/Ubuntu: apt-get install passwd nodejs "
                "npm bubblewrap"
            )
        real = Path(os.path.realpath(self.python))
        for part in [real, *real.parents]:
            mode = part.stat().st_mode
            if not mode & stat.S_IXOTH:
                raise HubError(
                    f"{self.python} is not usable by other users ({part} is mode "
                    f"{stat.filemode(mode)}): pass --python with a Python outside any home folder, "
                    "e.g. /usr/bin/python3 (apt-get install python3-venv)"
                )

    def install(self) -> None:
        """The environment every user runs (reinstalled when losskit's sources change)."""
        self.prefix.mkdir(parents=True, exist_ok=True)
        os.chmod(self.prefix, 0o755)
        if not (self.venv / "bin" / "python").exists():
            subprocess.run([self.python, "-m", "venv", str(self.venv)], check=True)
        stamp = self.venv / ".losskit-installed"
        digest = _tree_digest(ROOT / "losskit", ROOT / "pyproject.toml")
        if not stamp.exists() or stamp.read_text() != digest:
            pip = [str(self.venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, f"{ROOT}[course]", *HUB_REQUIREMENTS], check=True)
            stamp.write_text(digest)
        if not self.proxy.exists():
            subprocess.run(
                [
                    "npm",
                    "install",
                    "--silent",
                    "--prefix",
                    str(self.prefix / "node"),
                    PROXY_PACKAGE,
                ],
                check=True,
            )
        lab_settings = self.venv / "share" / "jupyter" / "lab" / "settings"
        lab_settings.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(LAB_OVERRIDES, lab_settings / "overrides.json")
        etc = self.venv / "etc" / "jupyter"
        etc.mkdir(parents=True, exist_ok=True)
        course = self.settings["course"]
        (etc / "nbgrader_config.py").write_text(
            "# Every user of the course hub (deploy/hub/course_hub.py writes this file).\n"
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {course['id']!r}\n"
            f"c.Exchange.root = {str(self.exchange)!r}\n"
            "c.Exchange.path_includes_course = True\n"
        )

    def accounts(self, members: list[Member], create: bool) -> dict[str, str]:
        """Make sure every member has an account; returns the passwords it set."""
        set_passwords = {}
        for m in members:
            try:
                pwd.getpwnam(m.name)
            except KeyError:
                if not create:
                    raise HubError(
                        f"user {m.name} of the roster does not exist: create the account, or "
                        "pass --create-users (for a demo)"
                    ) from None
                subprocess.run(["useradd", "-m", "-U", "-s", "/bin/bash", m.name], check=True)
                password = m.password or secrets.token_urlsafe(12)
                subprocess.run(["chpasswd"], input=f"{m.name}:{password}\n", text=True, check=True)
                set_passwords[m.name] = password
            else:
                if create and m.password:
                    subprocess.run(
                        ["chpasswd"], input=f"{m.name}:{m.password}\n", text=True, check=True
                    )
            os.chmod(pwd.getpwnam(m.name).pw_dir, 0o700)
        if set_passwords:
            out = self.prefix / "demo-passwords.txt"
            out.touch(mode=0o600)
            with open(out, "a") as f:
                f.writelines(f"{name} {pw}\n" for name, pw in set_passwords.items())
        return set_passwords

    def course(self, members: list[Member]) -> None:
        """The exchange, each instructor's course root, every home's lessons."""
        self.exchange.mkdir(parents=True, exist_ok=True)
        os.chmod(self.exchange, 0o777)  # nbgrader's exchange: everyone writes, modes protect
        lessons = self.settings["course"]["lessons"]
        for m in members:
            user = pwd.getpwnam(m.name)
            home = Path(user.pw_dir)
            target = home / lessons
            if not target.exists():
                target.mkdir()
                for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
                    shutil.copy(nb, target / nb.name)
                _chown_tree(target, user)
            if m.role == "instructor":
                root = home / "course"
                if not root.exists():
                    shutil.copytree(
                        ROOT / "assignments",
                        root,
                        ignore=shutil.ignore_patterns(
                            "release",
                            "submitted",
                            "autograded",
                            "feedback",
                            "gradebook.db",
                            "tamper_report.json*",
                            "__pycache__",
                            ".nbgrader.log",
                        ),
                    )
                os.chmod(root, 0o700)
                jupyter = home / ".jupyter"
                jupyter.mkdir(exist_ok=True)
                (jupyter / "nbgrader_config.py").write_text(
                    f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(root)!r}\n"
                )
                _chown_tree(root, user)
                _chown_tree(jupyter, user)

    # ------------------------------------------------------------------ start / stop

    def check_modes(self, members: list[Member]) -> None:
        """Refuse to start when a home or course root is open to other users."""
        problems = []
        for m in members:
            home = Path(pwd.getpwnam(m.name).pw_dir)
            paths = [home] + ([home / "course"] if m.role == "instructor" else [])
            for path in paths:
                mode = stat.S_IMODE(path.stat().st_mode)
                if mode & 0o077:
                    problems.append(f"{path} is mode {mode:o} (run: chmod 700 {path})")
        if stat.S_IMODE(self.exchange.stat().st_mode) != 0o777:
            problems.append(f"{self.exchange} must be mode 777 (nbgrader's exchange)")
        if problems:
            raise HubError("not starting: " + "; ".join(problems))

    def write_state(self, members: list[Member], ip: str, port: int) -> Path:
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        cpu = self.settings["profiles"]["cpu"]
        state = {
            "ip": ip,
            "port": port,
            "venv": str(self.venv),
            "proxy": str(self.proxy),
            "state": str(self.state),
            "users": [m.name for m in members],
            "admins": [m.name for m in members if m.role == "instructor"],
            "lessons": self.settings["course"]["lessons"],
            "backend": cpu["backend"],
            "idle_timeout_s": self.settings["course"]["idle_timeout_s"],
        }
        path = self.state / "hub.json"
        path.write_text(json.dumps(state, indent=1))
        return path

    def start(self, members: list[Member], ip: str, port: int) -> int:
        """Run the hub in the foreground until Ctrl-C or ``stop``; then leave nothing behind."""
        self.check_modes(members)
        state = self.write_state(members, ip, port)
        env = {
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "LOSSKIT_HUB_STATE": str(state),
            "LANG": "C.UTF-8",
        }
        proc = subprocess.Popen(
            [str(self.venv / "bin" / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")],
            cwd=self.state,
            env=env,
            start_new_session=True,
        )
        (self.state / "hub.pid").write_text(str(proc.pid))
        print(f"course hub at http://{ip}:{port}/ (Ctrl-C or `make hub-stop` to stop)", flush=True)

        def finish(*_):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, finish)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            self._stop_process(proc.pid)
            self.leftovers(members, kill=True)
            (self.state / "hub.pid").unlink(missing_ok=True)

    def _stop_process(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)  # the hub stops the user servers and the proxy
        except ProcessLookupError:
            return
        for _ in range(150):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        try:
            os.killpg(pid, signal.SIGKILL)  # the proxy, if the hub left it
        except (ProcessLookupError, PermissionError):
            pass

    def leftovers(self, members: list[Member], kill: bool = False) -> list[str]:
        """Processes of roster users still running (killed first when ``kill``)."""
        if kill:
            for m in members:
                subprocess.run(["pkill", "-KILL", "-u", m.name], check=False)
            time.sleep(0.5)
        left = []
        for m in members:
            out = subprocess.run(["pgrep", "-u", m.name, "-a"], capture_output=True, text=True)
            left += [f"{m.name}: {line}" for line in out.stdout.splitlines()]
        return left

    def stop(self, members: list[Member]) -> list[str]:
        pid_file = self.state / "hub.pid"
        if pid_file.exists():
            self._stop_process(int(pid_file.read_text()))
            pid_file.unlink(missing_ok=True)
        return self.leftovers(members, kill=True)


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, user.pw_uid, user.pw_gid)


def _tree_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if p.is_file())
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "setup", "start", "stop"])
    parser.add_argument("--roster", type=Path, default=HERE / "roster.demo.csv")
    parser.add_argument("--create-users", action="store_true", help="make missing accounts (demo)")
    parser.add_argument("--prefix", help="where the hub's environment and state go")
    parser.add_argument("--python", default="/usr/bin/python3", help="Python for the environment")
    parser.add_argument("--ip", help="address to listen on (default from deploy/course.toml)")
    parser.add_argument("--port", type=int, help="port (default from deploy/course.toml)")
    parser.add_argument(
        "--settings", type=Path, default=course_settings.SETTINGS, help="the course's settings"
    )
    args = parser.parse_args(argv)
    settings = course_settings.load(args.settings)
    hub = Hub(settings, args.prefix, args.python)
    try:
        members = read_roster(args.roster)
        if args.command == "stop":
            left = hub.stop(members)
            print("stopped" if not left else "still running:\n" + "\n".join(left))
            return 1 if left else 0
        if args.command in ("up", "setup"):
            hub.check_tools()
            hub.install()
            made = hub.accounts(members, args.create_users)
            hub.course(members)
            if made:
                print(
                    f"demo accounts made: {', '.join(made)} (passwords in "
                    f"{hub.prefix / 'demo-passwords.txt'}; a demo only: real courses use real "
                    "accounts)"
                )
        if args.command in ("up", "start"):
            ip = args.ip or settings["hub"]["ip"]
            port = args.port or settings["hub"]["port"]
            return hub.start(members, ip, port)
    except HubError as err:
        print(f"course hub: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
