"""Driving a running JupyterHub as its users would: log in, get a token, use one's own server.

``HubUser`` logs in through the hub's login form (PAM), asks the hub's REST API
for a token, starts the user's server and then talks to it through the proxy:
the contents API, nbgrader's Assignment List and Formgrader APIs, and kernels
over their websocket (``run_notebook``). Every hub API call is timed
(``HubUser.latencies``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import requests
import websocket


class HubError(AssertionError):
    pass


@dataclass
class HubUser:
    base: str  # http://127.0.0.1:PORT
    name: str
    password: str
    session: requests.Session = field(default_factory=requests.Session)
    token: str = ""
    latencies: list = field(default_factory=list)

    # ------------------------------------------------------------------ the hub

    def login(self) -> requests.Response:
        """The login form, as a browser submits it; raises unless it logged in."""
        page = self.session.get(f"{self.base}/hub/login", timeout=30)
        xsrf = self.session.cookies.get("_xsrf", "")
        t0 = time.perf_counter()
        done = self.session.post(
            f"{self.base}/hub/login?next=",
            data={"username": self.name, "password": self.password, "_xsrf": xsrf},
            allow_redirects=False,
            timeout=60,
        )
        self.latencies.append(time.perf_counter() - t0)
        if done.status_code != 302:
            raise HubError(f"{self.name}: login refused ({done.status_code})")
        assert page.status_code == 200
        return done

    def get_token(self) -> str:
        xsrf = self.session.cookies.get("_xsrf", "")
        r = self.hub(
            "POST",
            f"users/{self.name}/tokens",
            json={"note": "test", "expires_in": 7200},
            headers={"X-XSRFToken": xsrf},
            use_token=False,
        )
        self.token = r.json()["token"]
        return self.token

    def hub(self, method: str, path: str, *, use_token=True, check=True, **kw) -> requests.Response:
        """One call to the hub's REST API (``/hub/api/<path>``), timed."""
        headers = dict(kw.pop("headers", {}))
        if use_token and self.token:
            headers["Authorization"] = f"token {self.token}"
        t0 = time.perf_counter()
        r = self.session.request(
            method, f"{self.base}/hub/api/{path}", headers=headers, timeout=120, **kw
        )
        self.latencies.append(time.perf_counter() - t0)
        if check and r.status_code >= 400:
            raise HubError(f"{self.name}: {method} {path}: {r.status_code} {r.text[:500]}")
        return r

    def start_server(self, timeout: float = 180) -> dict:
        self.hub("POST", f"users/{self.name}/server", check=False)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            model = self.hub("GET", f"users/{self.name}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return model
            time.sleep(0.5)
        raise HubError(f"{self.name}: server not ready after {timeout:.0f} s")

    # ------------------------------------------------------------------ the user's server

    def server(self, method: str, path: str, *, check=True, **kw) -> requests.Response:
        headers = {"Authorization": f"token {self.token}", **kw.pop("headers", {})}
        r = requests.request(
            method, f"{self.base}/user/{self.name}/{path}", headers=headers, timeout=600, **kw
        )
        if check and r.status_code >= 400:
            raise HubError(f"{self.name}: {method} {path}: {r.status_code} {r.text[:800]}")
        return r

    def read(self, path: str) -> dict:
        return self.server("GET", f"api/contents/{path}?content=1").json()

    def write_notebook(self, path: str, nb: dict) -> None:
        self.server("PUT", f"api/contents/{path}", json={"type": "notebook", "content": nb})

    def listing(self, path: str) -> list[str]:
        return [item["name"] for item in self.read(path)["content"]]

    def assignments(self, action: str, course_id: str, assignment: str) -> dict | list:
        """nbgrader's Assignment List: fetch, submit, fetch_feedback (what the lab buttons do)."""
        r = self.server(
            "POST",
            f"assignments/{action}",
            params={"course_id": course_id, "assignment_id": assignment},
        )
        return r.json()

    def formgrader(self, method: str, path: str, **kw):
        return self.server(method, f"formgrader/api/{path}", **kw).json()

    def run_notebook(self, nb: dict, timeout: float = 300) -> dict:
        """Run every code cell in a new kernel of this server, over its websocket.

        Returns ``{"errors": [...], "seconds": s, "kernel": kernel model}``; the
        kernel is shut down afterwards.
        """
        kernel = self.server("POST", "api/kernels", json={"name": "python3"}).json()
        url = (
            self.base.replace("http", "ws", 1)
            + f"/user/{self.name}/api/kernels/{kernel['id']}/channels"
        )
        ws = websocket.create_connection(
            url, header=[f"Authorization: token {self.token}"], timeout=timeout
        )
        errors, t0 = [], time.monotonic()
        try:
            for cell in nb["cells"]:
                if cell["cell_type"] != "code":
                    continue
                source = (
                    "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                )
                msg_id = uuid.uuid4().hex
                ws.send(
                    json.dumps(
                        {
                            "header": {
                                "msg_id": msg_id,
                                "msg_type": "execute_request",
                                "username": self.name,
                                "session": uuid.uuid4().hex,
                                "version": "5.3",
                            },
                            "parent_header": {},
                            "metadata": {},
                            "content": {
                                "code": source,
                                "silent": False,
                                "store_history": True,
                                "allow_stdin": False,
                                "stop_on_error": True,
                            },
                            "channel": "shell",
                        }
                    )
                )
                while True:
                    reply = json.loads(ws.recv())
                    if reply.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    if reply["msg_type"] == "error":
                        errors.append(f"{reply['content']['ename']}: {reply['content']['evalue']}")
                    if reply["msg_type"] == "execute_reply":
                        break
                if time.monotonic() - t0 > timeout:
                    raise HubError(f"{self.name}: the notebook ran past {timeout:.0f} s")
        finally:
            ws.close()
        seconds = time.monotonic() - t0
        return {"errors": errors, "seconds": seconds, "kernel": kernel}

    def stop_kernel(self, kernel_id: str) -> None:
        self.server("DELETE", f"api/kernels/{kernel_id}", check=False)
