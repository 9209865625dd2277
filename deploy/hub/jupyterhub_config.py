"""JupyterHub configuration of the single-machine course hub (started by course_hub.py).

Reads the hub's state file (``LOSSKIT_HUB_STATE``, written by ``course_hub.py
start`` from deploy/course.toml and the roster): where to listen, the
environment every user runs, who may log in and who administers.
"""

import json
import os
import sys

c = get_config()  # noqa: F821  (provided by JupyterHub)
state = json.loads(open(os.environ["LOSSKIT_HUB_STATE"]).read())

c.JupyterHub.bind_url = f"http://{state['ip']}:{state['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.command = [state["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(state['port']) + 1}"
c.JupyterHub.hub_port = int(state["port"]) + 2
c.JupyterHub.db_url = f"sqlite:///{state['state']}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state['state']}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state['state']}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server
c.JupyterHub.cleanup_proxy = True

# Logins: the machine's own accounts (PAM), only the roster's, instructors as admins.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(state["users"])
c.Authenticator.admin_users = set(state["admins"])
c.Authenticator.allow_all = False

# Each user's server as that user (LocalProcessSpawner), from the shared environment.
venv = state["venv"]
c.Spawner.cmd = [f"{venv}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = f"/lab/tree/{state['lessons']}"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
    "LOSSKIT_BACKEND": state["backend"],  # the CPU profile
}
# Kernels talk to their server over Unix sockets in the user's own 0700 runtime
# folder, not over localhost TCP. Random TCP ports are picked, then released before
# the kernel binds them, so with many users' kernels starting at once two can draw
# the same port ("Address already in use", a dead kernel: seen with 20 students).
c.Spawner.args = ["--KernelManager.transport=ipc"]
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120

# Idle servers are stopped, as on the Kubernetes hub.
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={int(state['idle_timeout_s'])}",
        ],
    }
]
