"""The course's settings (deploy/course.toml), and the Zero to JupyterHub values made from them.

    python deploy/course_settings.py          # rewrite deploy/config.yaml from config.yaml.in
    python deploy/course_settings.py --check  # exit 1 if config.yaml is stale

``config.yaml.in`` is the z2jh values file with ``{{section.key}}``
placeholders (``{{version}}`` is losskit's version from pyproject.toml);
every value the single-machine hub also uses comes from ``course.toml``, so the
two deployments cannot drift apart. Standard library only (``tomllib``, Python
3.11+; ``tomli`` before).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
SETTINGS = DEPLOY / "course.toml"
TEMPLATE = DEPLOY / "config.yaml.in"
VALUES = DEPLOY / "config.yaml"
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+(?:\.[a-z_]+)?)\}\}")


def load(path: Path = SETTINGS) -> dict:
    """course.toml as a dict, checked for the keys both deployments need."""
    data = tomllib.loads(Path(path).read_text())
    for section, keys in {
        "course": ("id", "exchange", "lessons", "idle_timeout_s"),
        "hub": ("ip", "port", "prefix"),
    }.items():
        missing = [k for k in keys if k not in data.get(section, {})]
        if missing:
            raise ValueError(f"{path}: [{section}] needs {', '.join(missing)}")
    if "cpu" not in data.get("profiles", {}):
        raise ValueError(f"{path}: a [profiles.cpu] section is needed (the default profile)")
    return data


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return tomllib.loads(text)["project"]["version"]


def render(settings: dict | None = None, template: Path = TEMPLATE) -> str:
    """The z2jh values: the template with every placeholder filled from the settings."""
    settings = load() if settings is None else settings
    scope = {"version": version(), "course": settings["course"], **settings["profiles"]}

    def fill(match):
        section, _, key = match.group(1).partition(".")
        value = scope[section] if not key else scope[section][key]
        return str(value)

    return _PLACEHOLDER.sub(fill, Path(template).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if config.yaml is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if VALUES.read_text() != text:
            print("stale: deploy/config.yaml (run python deploy/course_settings.py)")
            return 1
        return 0
    VALUES.write_text(text)
    print("wrote deploy/config.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
