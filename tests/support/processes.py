"""Start the four services as real processes (isolated topics, databases and ports) for e2e and fault tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.infra import KAFKA, MONGO, REPO, SESSION_PREFIXES

SERVICES = ("intake", "routing", "resolution", "notify")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    """One service process with its port, log file and environment."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    #: arguments between the interpreter and ``-m services.<name>`` (a profiler; ``{name}`` is replaced)
    launcher: tuple[str, ...] = ()
    #: the checkout whose code runs (the benchmark's "before" runs use another one)
    code_dir: Path = REPO

    @property
    def url(self) -> str:
        """Base URL of the service."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (appending to its log)."""
        log = self.log_path.open("ab")
        launcher = [arg.replace("{name}", self.name) for arg in self.launcher]
        self.proc = subprocess.Popen(
            [sys.executable, *launcher, "-m", f"services.{self.name}"],
            cwd=self.code_dir,
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until /readyz answers 200; fail with the log tail if the process died or time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (graceful shutdown), SIGKILL after 20 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the service log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class System:
    """The four services of one isolated run (each as one or more instances sharing store and broker)."""

    prefix: str
    workdir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    instances: dict[str, list[ServiceProcess]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def every_process(self) -> list[ServiceProcess]:
        """All processes of the run, every instance of every service."""
        return [proc for procs in self.instances.values() for proc in procs]

    @property
    def sms_outbox(self) -> Path:
        """The development SMS provider's file of this run."""
        return self.workdir / "sms-outbox.jsonl"

    def logs(self) -> str:
        """Every service log of this run, concatenated."""
        return "\n".join(p.log_path.read_text(errors="replace") for p in self.every_process() if p.log_path.exists())


def system_env(
    prefix: str, workdir: Path, ports: dict[str, int], extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment shared by the services of one run."""
    SESSION_PREFIXES.add(f"{prefix}.")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "MONGODB_URL": MONGO,
            "KAFKA_TOPIC_PREFIX": f"{prefix}.",
            "KAFKA_TOPIC_PARTITIONS": "3",
            "ENVIRONMENT": "test",
            "LOG_FORMAT": "json",
            "OUTBOX_POLL_INTERVAL": "0.2",
            "SMS_OUTBOX_PATH": str(workdir / "sms-outbox.jsonl"),
            **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
            **{f"{name.upper()}_MONGODB_DATABASE": f"{prefix}_{name}" for name in ports},
        }
    )
    if "notify" in ports and "resolution" in ports:
        # the public links printed on papers and sent in SMS point at this run's processes
        notify, resolution = f"http://127.0.0.1:{ports['notify']}", f"http://127.0.0.1:{ports['resolution']}"
        env.update(
            {
                "TRACKING_PAGE_URL": f"{notify}/track",
                "RESOLUTION_PUBLIC_BASE_URL": resolution,
                "RESOLUTION_CORS_ORIGINS": notify,
                "NOTIFY_RATING_BASE_URL": resolution,
            }
        )
    env.update(extra or {})
    return env


@contextmanager
def running_system(
    prefix: str,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    instances: int = 1,
    launcher: tuple[str, ...] = (),
    code_dir: Path = REPO,
    ready_timeout: float = 60.0,
    ports: dict[str, int] | None = None,
) -> Iterator[System]:
    """Start all four services as processes, wait until ready, stop them gracefully afterwards.

    With ``instances`` > 1 every service runs that many processes on one store and one broker (one
    consumer group per service); ``system[name]`` is the first, ``system.instances[name]`` all of them.
    ``ports`` fixes some services' ports in advance (an identity provider must know intake's callback).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ports = dict(ports or {})
    for name in SERVICES:
        if name in ports:
            continue
        # the OS may hand the same just-released port out twice; two services on one port is a wrong system
        while (port := free_port()) in ports.values():
            pass
        ports[name] = port
    env = system_env(prefix, workdir, ports, extra_env)
    system = System(prefix=prefix, workdir=workdir)
    for name in SERVICES:
        system.instances[name] = []
        for n in range(instances):
            port = ports[name] if n == 0 else free_port()
            own_env = {**env, f"{name.upper()}_PORT": str(port)}
            log = workdir / (f"{name}.log" if n == 0 else f"{name}-{n + 1}.log")
            system.instances[name].append(
                ServiceProcess(name, port, own_env, log, launcher=launcher, code_dir=code_dir)
            )
        system.services[name] = system.instances[name][0]
    for proc in system.every_process():
        proc.start()
    try:
        for proc in system.every_process():
            proc.wait_ready(ready_timeout)
        yield system
    finally:
        for proc in system.every_process():
            proc.stop()
