"""Kernels for grading: start one as a process, run code in it with a deadline, stop it.

Outputs are plain dicts in nbformat's output shape (``nbformat.from_dict``
makes them nodes): importing nbformat costs the checker about 1.5 s.

A grading run has two: the student's kernel (its command wrapped in the sandbox
by ``sandbox.py``) and the checker kernel. Both talk ZeroMQ over Unix sockets
(``ipc``) in a private folder: a kernel in its own network namespace cannot
reach TCP loopback, and a socket file is visible only where it is bound.

``run`` is the one place that waits for a kernel: it collects a cell's outputs
as nbformat output nodes, stops at a deadline (asks the kernel to interrupt
itself, then gives it a grace period), notices a dead kernel, and caps what a
cell may print, so a student cannot make the grader hold gigabytes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

MAX_OUTPUT_CHARS = 1_000_000  # per cell; nbgrader's LimitOutput trims further
MAX_OUTPUTS = 500
INTERRUPT_GRACE_S = 3.0


@dataclass
class Ran:
    """What running one piece of code gave."""

    status: str  # "ok", "error", "timeout" (interrupted), "hung" (ignored the interrupt), "died"
    outputs: list = field(default_factory=list)  # nbformat outputs, as dicts
    data: list = field(default_factory=list)  # the data dicts of display_data messages
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    truncated: bool = False

    @property
    def finished(self) -> bool:
        return self.status in ("ok", "error")


def _output(kind: str, content: dict) -> dict:
    """An nbformat v4 output (as a dict) from an IOPub message's type and content."""
    if kind == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if kind == "error":
        return {
            "output_type": "error",
            "ename": content["ename"],
            "evalue": content["evalue"],
            "traceback": list(content["traceback"]),
        }
    out = {
        "output_type": kind,
        "data": content.get("data", {}),
        "metadata": content.get("metadata", {}),
    }
    if kind == "execute_result":
        out["execution_count"] = content.get("execution_count")
    return out


class _Outputs:
    def __init__(self) -> None:
        self.outputs: list = []
        self.data: list = []
        self.chars = 0
        self.truncated = False
        self._clear_on_next = False

    def add(self, msg: dict) -> None:
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "clear_output":
            if content.get("wait"):
                self._clear_on_next = True
            else:
                self.outputs.clear()
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        if kind == "display_data":
            self.data.append(content.get("data", {}))
        if self._clear_on_next:
            self.outputs.clear()
            self._clear_on_next = False
        size = len(str(content))
        if self.truncated:
            return
        if self.chars + size > MAX_OUTPUT_CHARS or len(self.outputs) >= MAX_OUTPUTS:
            self.truncated = True
            self.outputs.append(
                _output("stream", {"name": "stdout", "text": "\n[... output truncated ...]\n"})
            )
            return
        self.chars += size
        last = self.outputs[-1] if self.outputs else None
        if (
            kind == "stream"
            and last is not None
            and last["output_type"] == "stream"
            and last["name"] == content["name"]
        ):
            last["text"] += content["text"]
        else:
            self.outputs.append(_output(kind, content))


def run(
    kc: BlockingKernelClient,
    code: str,
    timeout: float,
    *,
    interrupt=None,
    alive=None,
    store_history: bool = False,
) -> Ran:
    """Execute ``code`` in the kernel behind ``kc`` and wait at most ``timeout`` seconds.

    ``interrupt()`` is called once at the deadline (the kernel then has
    ``INTERRUPT_GRACE_S`` to finish); ``alive()`` says whether the kernel still
    runs (a dead one ends the wait at once).
    """
    t0 = time.monotonic()
    deadline = t0 + max(timeout, 0.0)
    msg_id = kc.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
    collected = _Outputs()
    reply = None
    idle = False
    interrupted = False
    while reply is None or not idle:
        now = time.monotonic()
        if now >= deadline:
            if interrupted:
                status = "hung"
                break
            interrupted = True
            if interrupt is not None:
                interrupt()
            deadline = now + INTERRUPT_GRACE_S
            continue
        wait = min(0.2, deadline - now)
        msg = None
        if not idle:
            try:
                msg = kc.get_iopub_msg(timeout=wait)
            except Empty:
                pass
            if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                if msg["header"]["msg_type"] == "status":
                    idle = msg["content"].get("execution_state") == "idle"
                else:
                    collected.add(msg)
        while reply is None:
            try:  # block here only once iopub is done: the reply is all that is left
                shell = kc.get_shell_msg(timeout=wait if idle else 0)
            except Empty:
                break
            if shell.get("parent_header", {}).get("msg_id") == msg_id:
                reply = shell["content"]
        if idle and reply is None:
            msg = None  # nothing arrived: let the liveness check below run
        if msg is None and alive is not None and not alive():
            status = "died"
            break
    else:
        status = "timeout" if interrupted else reply.get("status", "error")
        if status not in ("ok", "timeout"):
            status = "error"
    ran = Ran(
        status=status,
        outputs=collected.outputs,
        data=collected.data,
        seconds=time.monotonic() - t0,
        truncated=collected.truncated,
    )
    if reply is not None and reply.get("status") == "error":
        ran.ename, ran.evalue = reply.get("ename", ""), reply.get("evalue", "")
    return ran


class Kernel:
    """One kernel process and its client; ``command(connection_file)`` gives its argv."""

    def __init__(self, name, command, *, env, cwd, workdir: Path, owner: int | None = None):
        self.name = name
        self.command = command
        self.env = env
        self.cwd = cwd
        self.workdir = Path(workdir)
        self.owner = owner  # uid that must be able to create the socket files
        self.proc: subprocess.Popen | None = None
        self.kc: BlockingKernelClient | None = None
        self.connection_file: str | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process and connect (``wait_ready`` waits for it: start several at once)."""
        self.starts += 1
        tag = f"{self.name}{self.starts}"
        conn = self.workdir / f"{tag}.json"
        write_connection_file(str(conn), transport="ipc", ip=str(self.workdir / tag))
        if self.owner is not None:
            os.chown(conn, self.owner, -1)
        self.connection_file = str(conn)
        log = open(self.workdir / f"{tag}.log", "wb")  # noqa: SIM115 (kept by the process)
        try:
            self.proc = subprocess.Popen(
                self.command(str(conn)),
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        kc = BlockingKernelClient()
        kc.load_connection_file(str(conn))
        kc.start_channels()
        self.kc = kc

    def wait_ready(self, timeout: float = 60.0) -> None:
        kc = self.kc
        t0 = time.monotonic()
        while True:
            if not self.alive():
                raise RuntimeError(f"the {self.name} kernel exited at start-up:\n{self.log_tail()}")
            try:
                kc.wait_for_ready(timeout=1.0)
                return
            except RuntimeError:
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(
                        f"the {self.name} kernel did not start within {timeout:.0f} s:\n"
                        + self.log_tail()
                    ) from None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.workdir / f"{self.name}{self.starts}.log"
        try:
            return path.read_bytes()[-chars:].decode(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self):
        return None if self.proc is None else self.proc.poll()

    def interrupt(self) -> None:
        """Ask the kernel to interrupt its running cell (``interrupt_request`` on control)."""
        if self.kc is not None:
            self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))

    def run(self, code: str, timeout: float, store_history: bool = False) -> Ran:
        return run(
            self.kc,
            code,
            timeout,
            interrupt=self.interrupt,
            alive=self.alive,
            store_history=store_history,
        )

    def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start(timeout)
