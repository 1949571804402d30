"""``python -m bench`` (``make bench``): each figure next to its baseline measured in the same run.

Benchmarks: footprint, intake, pipeline, scaling, recovery, growth. Every one starts what it needs as real
processes against the real Kafka and store (isolated by a topic prefix and databases, dropped afterwards),
and stops it. ``clock`` is in-process: the legal clock's due dates per second against a day-by-day walk.
``growth`` runs the pipeline on empty stores and again with ``growth`` finished dossiers seeded into every
service's database (bench/growth.py). ``--profile`` runs the pipeline's services under pyinstrument;
``--code DIR`` runs the services of another checkout (the "before" of a change) with this benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.clock import bench_clock
from bench.relay import run_relay
from tests.support.identity import TEST_SECRETS
from tests.support.infra import KAFKA, MONGO, REPO
from tests.support.processes import SERVICES, ServiceProcess, System, free_port, running_system, system_env

for _name, _value in TEST_SECRETS.items():  # the services refuse the public development secrets under test
    os.environ.setdefault(_name, _value)

RESULTS = REPO / "bench" / "results"
PROFILES = RESULTS / "profiles"
console = Console(width=150)
app = typer.Typer(add_completion=False, help=__doc__)

SCALES: dict[str, dict[str, float]] = {
    # seconds of measured load, dossiers per pipeline run, events for the scaling run
    # recovery's offered rate stays below the pipeline's capacity on FerretDB, so "steady" means something
    # growth: finished dossiers seeded into every service's database before the grown pipeline run
    "tiny": {"duration": 3, "pipeline": 20, "scaling": 100, "recovery": 20, "rate": 2, "growth": 200},
    "small": {"duration": 5, "pipeline": 100, "scaling": 300, "recovery": 30, "rate": 2, "growth": 100_000},
    "full": {"duration": 15, "pipeline": 300, "scaling": 2000, "recovery": 45, "rate": 3, "growth": 100_000},
}

#: what the services run under, set by ``--profile`` / ``--code`` (see ``main``)
RUN: dict[str, Any] = {"profile": False, "code_dir": REPO}


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[k], 1)


def ratio(ours: float | None, baseline: float | None) -> float | None:
    return round(ours / baseline, 3) if ours and baseline else None


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` from /proc, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def wait_for(seconds: float, label: str) -> None:
    with progress() as bar:
        task = bar.add_task(label, total=int(seconds))
        for _ in range(int(seconds)):
            time.sleep(1)
            bar.advance(task)


@contextmanager
def system(extra: dict[str, str] | None = None, *, profile: str | None = None) -> Iterator[System]:
    """All four services on databases and topics of their own, dropped afterwards.

    With ``--profile``, a system started with ``profile=<label>`` runs each service under pyinstrument;
    the reports land in ``bench/results/profiles/<run>/<label>-<service>.txt`` when it stops (bench/profiled.py).
    """
    from tests.support.service import drop_databases

    prefix = f"b{uuid.uuid4().hex[:8]}"
    workdir = REPO / ".data" / "bench" / prefix
    launcher: tuple[str, ...] = ()
    if profile and RUN["profile"]:
        PROFILES.mkdir(parents=True, exist_ok=True)
        launcher = (str(REPO / "bench" / "profiled.py"), str(PROFILES / f"{profile}-{{name}}"))
    try:
        # the machine is shared: eight processes importing at once may take minutes to be ready
        with running_system(
            prefix, workdir, extra, launcher=launcher, code_dir=RUN["code_dir"], ready_timeout=300
        ) as sys_:
            try:
                yield sys_
            finally:
                if launcher:
                    _stop_profiled(sys_)
    finally:
        asyncio.run(drop_databases(MONGO, *(f"{prefix}_{name}" for name in SERVICES)))


def _stop_profiled(sys_: System) -> None:
    """Stop profiled services gracefully and give them time to write their reports (bench/profiled.py)."""
    import signal

    for proc in sys_.every_process():
        if proc.proc is not None and proc.proc.poll() is None:
            proc.proc.send_signal(signal.SIGTERM)
    for proc in sys_.every_process():
        if proc.proc is not None:
            try:
                proc.proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()


async def new_key(sys_: System, office: str = "00070.TTHCC") -> str:
    from tests.e2e.conftest import api_key

    return await api_key(sys_, office)


@contextmanager
def baseline_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The bare FastAPI + one insert endpoint, under uvicorn like the services."""
    port = free_port()
    env = {**os.environ, "MONGODB_URL": MONGO, "BASELINE_DATABASE": f"bench_{uuid.uuid4().hex[:6]}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.baseline_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(10)


def load(
    url: str, key: str, *, mode: str, scale: dict[str, float], rate: float = 0, concurrency: int = 32
) -> dict[str, Any]:
    """Run bench/load.py as a separate process and summarise its output."""
    args = [
        sys.executable,
        "-m",
        "bench.load",
        "--url",
        f"{url}/v1/dossiers",
        "--key",
        key,
        "--mode",
        mode,
        "--rate",
        str(rate or 1),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(scale["duration"]),
        "--warmup",
        "2",
    ]
    with progress() as bar:
        task = bar.add_task(f"load {mode} {url}", total=int(scale["duration"] + 2))
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE)
        while proc.poll() is None:
            time.sleep(1)
            bar.advance(task)
        out = json.loads(proc.stdout.read() if proc.stdout else b"{}")
    lat = out["latencies_ms"]
    ok = sum(v for k, v in out["statuses"].items() if str(k).startswith("2"))
    return {
        "throughput_rps": round(ok / scale["duration"], 1),
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "p99_ms": pct(lat, 99),
        "statuses": out["statuses"],
        "errors": out["errors"],
    }


# -- benchmarks ----------------------------------------------------------------------------------
def bench_footprint(scale: dict[str, float]) -> dict[str, Any]:
    """Start-to-ready time and idle RSS of each service alone, and of the bare FastAPI baseline."""
    out: dict[str, Any] = {}
    prefix = f"b{uuid.uuid4().hex[:8]}"
    workdir = REPO / ".data" / "bench" / prefix
    workdir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in SERVICES}
    env = system_env(prefix, workdir, ports)
    for name in SERVICES:
        proc = ServiceProcess(name, ports[name], env, workdir / f"{name}.log", code_dir=RUN["code_dir"])
        t0 = time.monotonic()
        proc.start()
        proc.wait_ready(300)
        ready = time.monotonic() - t0
        wait_for(3, f"{name} idle")
        assert proc.proc is not None
        out[name] = {"ready_s": round(ready, 2), "idle_rss_mb": rss_mb(proc.proc.pid)}
        proc.stop()
    t0 = time.monotonic()
    with baseline_server() as (_, bproc):
        ready = time.monotonic() - t0
        wait_for(3, "baseline idle")
        out["baseline_fastapi"] = {"ready_s": round(ready, 2), "idle_rss_mb": rss_mb(bproc.pid)}
    return out


def bench_intake(scale: dict[str, float]) -> dict[str, Any]:
    """POST /v1/dossiers at a fixed offered rate and at saturation, against the bare FastAPI + insert."""
    out: dict[str, Any] = {}
    with system() as sys_:
        key = asyncio.run(new_key(sys_))
        # the rate limit must not be what is measured
        out["ours_saturation"] = load(sys_["intake"].url, key, mode="saturate", scale=scale)
        fixed = max(5.0, round(out["ours_saturation"]["throughput_rps"] * 0.5))
        key2 = asyncio.run(new_key(sys_))
        out["ours_fixed"] = load(sys_["intake"].url, key2, mode="rate", rate=fixed, scale=scale)
    with baseline_server() as (url, _):
        out["baseline_saturation"] = load(url, "", mode="saturate", scale=scale)
        out["baseline_fixed"] = load(url, "", mode="rate", rate=fixed, scale=scale)
    out["offered_fixed_rps"] = fixed
    out["ratio_saturation"] = ratio(
        out["ours_saturation"]["throughput_rps"], out["baseline_saturation"]["throughput_rps"]
    )
    return out


async def _post_many(url: str, key: str, n: int, concurrency: int, rate: float | None = None) -> dict[str, datetime]:
    """Post ``n`` dossiers; return code → received_at (from the receipts)."""
    sent: dict[str, datetime] = {}
    body = __import__("bench.load", fromlist=["dossier"]).dossier()
    headers = {"Authorization": f"Bearer {key}"}
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http:

        async def one(i: int) -> None:
            if rate:
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            async with gate:
                r = await http.post(f"{url}/v1/dossiers", json=body, headers=headers)
                if r.status_code == 201:
                    sent[r.json()["code"]] = datetime.fromisoformat(r.json()["received_at"])

        await asyncio.gather(*(one(i) for i in range(n)))
    return sent


def _completions(sys_: System, codes: set[str], kinds_needed: int = 3) -> dict[str, datetime]:
    """code → time of the citizen's ``kinds_needed``-th SMS (received, routed, accepted)."""
    seen: dict[str, list[datetime]] = {}
    if sys_.sms_outbox.exists():
        for line in sys_.sms_outbox.read_text("utf-8").splitlines():
            row = json.loads(line)
            if row["dossier_code"] in codes:
                seen.setdefault(row["dossier_code"], []).append(datetime.fromisoformat(row["sent_at"]))
    return {c: sorted(ts)[kinds_needed - 1] for c, ts in seen.items() if len(ts) >= kinds_needed}


def _track(sys_: System, sent: dict[str, datetime], timeout: float, label: str) -> dict[str, datetime]:
    done: dict[str, datetime] = {}
    with progress() as bar:
        task = bar.add_task(label, total=len(sent))
        deadline = time.monotonic() + timeout
        while len(done) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.5)
            done = _completions(sys_, set(sent))
            bar.update(task, completed=len(done))
    return done


def _series(times: list[datetime], origin: datetime) -> list[int]:
    """Completions per second since ``origin``."""
    if not times:
        return []
    buckets = [0] * (int((max(times) - origin).total_seconds()) + 1)
    for t in times:
        buckets[max(0, int((t - origin).total_seconds()))] += 1
    return buckets


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far, from /proc (seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: the local infrastructure's processes by command name (/proc/<pid>/comm): their CPU is part of a dossier's cost
INFRA_COMMANDS = {"ferretdb": "ferretdb", "postgres": "postgresql", "java": "kafka"}


def infra_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of the local store and broker, summed over their processes (with reaped children).

    Counted by command name on this machine, so on a machine running another FerretDB, PostgreSQL or JVM
    the figures include theirs; against external infrastructure they are zero.
    """
    totals = dict.fromkeys(INFRA_COMMANDS.values(), 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        name = INFRA_COMMANDS.get(comm.split("(", 1)[1])
        if name is not None:
            fields = rest.split()
            totals[name] += sum(int(f) for f in fields[11:15]) / tick
    return totals


def _cpu(sys_: System) -> dict[str, float]:
    services = {name: cpu_seconds(sys_[name].proc.pid) for name in SERVICES if sys_[name].proc is not None}  # type: ignore[union-attr]
    return {**services, **infra_cpu_seconds()}


def _run_pipeline(sys_: System, key: str, n: int, *, rate: float | None = None, label: str) -> dict[str, Any]:
    """Post ``n`` dossiers (all at once, or at ``rate`` per second) and time each to the citizen's third SMS."""
    before = _cpu(sys_)
    t0 = datetime.now(UTC)
    sent = asyncio.run(_post_many(sys_["intake"].url, key, n, 32, rate=rate))
    done = _track(sys_, sent, 600, label)
    after = _cpu(sys_)
    lat = [(done[c] - sent[c]).total_seconds() * 1000 for c in done]
    first = min(sent.values()) if sent else t0
    elapsed = (max(done.values()) - first).total_seconds() if done else None
    return {
        "dossiers": n,
        "offered_dps": rate,
        "accepted_by_intake": len(sent),
        "completed": len(done),
        "throughput_dps": round(len(done) / elapsed, 1) if elapsed else None,
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "p99_ms": pct(lat, 99),
        # CPU each service and the local store and broker spent per completed dossier during the run (ms):
        # where the machine's time goes
        "cpu_ms_per_dossier": {
            name: round((after[name] - before[name]) * 1000 / max(len(done), 1), 1) for name in after
        },
        "series_per_s": _series(list(done.values()), t0),
    }


PIPELINE_ENV = {"RESOLUTION_AUTO_ACCEPT_OFFICES": "*", "INTAKE_RATE_LIMIT": "100000/minute"}


def _warm_up(sys_: System, key: str) -> None:
    """One dossier through the whole pipeline first: consumer groups joined, connections open, code loaded."""
    _track(sys_, asyncio.run(_post_many(sys_["intake"].url, key, 1, 1)), 120, "warm-up dossier")


def bench_pipeline(scale: dict[str, float]) -> dict[str, Any]:
    """Dossiers per second from intake to the citizen's third SMS (accepted), against a raw 3-hop relay.

    First at saturation (every dossier posted at once), then the latency at half that throughput.
    """
    n = int(scale["pipeline"])
    with system(PIPELINE_ENV, profile="pipeline") as sys_:
        key = asyncio.run(new_key(sys_))
        _warm_up(sys_, key)
        saturated = _run_pipeline(sys_, key, n, label="pipeline: dossiers notified")
        half = max(1.0, round((saturated["throughput_dps"] or 2) / 2, 1))
        at_half = _run_pipeline(
            sys_, key, max(10, int(half * scale["duration"] * 2)), rate=half, label=f"pipeline at {half}/s"
        )
    baseline = run_relay(KAFKA, MONGO, n=n, hops=3, on_progress=None)
    return {
        **saturated,
        "at_half_saturation": at_half,
        "baseline_relay": baseline,
        "ratio": ratio(saturated["throughput_dps"], baseline["throughput_mps"]),
    }


def bench_scaling(scale: dict[str, float]) -> dict[str, Any]:
    """Routing throughput with one and with two instances in one consumer group."""
    from shared.topics import Topics
    from tests.integration.routing.test_routing import as_event, received
    from tests.support.kafka import collect

    out: dict[str, Any] = {}
    n = int(scale["scaling"])
    for instances in (1, 2):
        prefix = f"b{uuid.uuid4().hex[:8]}"
        workdir = REPO / ".data" / "bench" / prefix
        workdir.mkdir(parents=True, exist_ok=True)
        ports = {f"routing{i}": free_port() for i in range(instances)}
        env = system_env(prefix, workdir, {"routing": 0})
        procs = []
        for i in range(instances):
            penv = {**env, "ROUTING_PORT": str(ports[f"routing{i}"])}
            p = ServiceProcess(
                "routing", ports[f"routing{i}"], penv, workdir / f"routing{i}.log", code_dir=RUN["code_dir"]
            )
            p.start()
            procs.append(p)
        try:
            for p in procs:
                p.wait_ready(300)
            wait_for(5, f"{instances} instance(s): group rebalance")

            async def feed(prefix: str) -> float:
                from aiokafka import AIOKafkaProducer

                producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, acks="all", linger_ms=20)
                await producer.start()
                try:
                    topic = f"{prefix}.{Topics.DOSSIER_RECEIVED}"
                    for _ in range(n):
                        data = received(receiving_ward="00070", applicant_ward="00070")
                        event = as_event(data, Topics.DOSSIER_RECEIVED)
                        await producer.send(
                            topic,
                            event.value(),
                            key=data.dossier_id.encode(),
                            headers=[(k, v.encode()) for k, v in event.headers().items()],
                        )
                    await producer.flush()
                finally:
                    await producer.stop()
                t0 = time.monotonic()
                await collect(KAFKA, f"{prefix}.{Topics.DOSSIER_ROUTED}", count=n, timeout=900)
                return time.monotonic() - t0

            t_start = time.monotonic()
            asyncio.run(feed(prefix))
            elapsed = time.monotonic() - t_start
            out[f"instances_{instances}"] = {"events": n, "seconds": round(elapsed, 1), "per_s": round(n / elapsed, 1)}
        finally:
            for p in procs:
                p.stop()
    out["ratio_2_to_1"] = ratio(out["instances_2"]["per_s"], out["instances_1"]["per_s"])
    return out


def bench_recovery(scale: dict[str, float]) -> dict[str, Any]:
    """Steady offered load; kill -9 routing mid-run and restart it; time until completions are steady again."""
    rate = scale["rate"]
    seconds = scale["recovery"]
    n = int(rate * seconds)
    kill_at = seconds / 3
    with system({"RESOLUTION_AUTO_ACCEPT_OFFICES": "*", "INTAKE_RATE_LIMIT": "100000/minute"}) as sys_:
        key = asyncio.run(new_key(sys_))
        t0 = datetime.now(UTC)

        async def run() -> dict[str, datetime]:
            posting = asyncio.create_task(_post_many(sys_["intake"].url, key, n, 32, rate=rate))
            await asyncio.sleep(kill_at)
            sys_["routing"].kill()
            sys_["routing"].start()
            return await posting

        killed = t0.timestamp() + kill_at
        sent = asyncio.run(run())
        done = _track(sys_, sent, 300, "recovery: dossiers notified")
    series = _series(list(done.values()), t0)
    k = int(kill_at)
    steady = statistics.mean(series[1:k]) if k > 1 else rate
    recovered_at = None
    for s in range(k, len(series) - 1):
        window = series[s : s + 2]
        if s > k and statistics.mean(window) >= 0.8 * steady:
            recovered_at = s
            break
    return {
        "offered_rps": rate,
        "steady_before_per_s": round(steady, 1),
        "killed_at_s": round(killed - t0.timestamp(), 1),
        "recovered_s": round(recovered_at - kill_at, 1) if recovered_at is not None else None,
        "completed": len(done),
        "posted": len(sent),
        "series_per_s": series,
    }


async def _drained(sys_: System, within: float = 60.0) -> None:
    """Wait until no document of the run's databases has a pending outbox entry."""
    from motor.motor_asyncio import AsyncIOMotorClient

    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(MONGO)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            pending = 0
            for name in SERVICES:
                db = client[f"{sys_.prefix}_{name}"]
                for coll in await db.list_collection_names():
                    pending += await db[coll].count_documents({"outbox_due": True})
            if not pending:
                return
            await asyncio.sleep(0.5)
    finally:
        client.close()


async def _finish(sys_: System, code: str) -> None:
    """Take an auto-accepted dossier to its end through resolution's API (process, approve, return) and wait
    until notify has told the citizen it is returned: the growth run's template is a finished dossier."""
    import httpx
    from motor.motor_asyncio import AsyncIOMotorClient

    from tests.e2e.conftest import official

    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(MONGO)
    try:
        cases, url = client[f"{sys_.prefix}_resolution"]["cases"], sys_["resolution"].url
        done: set[str] = set()
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(60):  # each step of an inter-agency chain is a case at its office, taken in turn
                steps = [c async for c in cases.find({"dossier_code": code}) if c["_id"] not in done]
                running = [c for c in steps if c.get("status") == "accepted"]
                if not running:
                    await asyncio.sleep(0.5)
                    continue
                case = running[0]
                office = case["office_code"]
                for action, role in (("process", "specialist"), ("approve", "leader"), ("return", "clerk")):
                    r = await http.post(f"{url}/v1/dossiers/{code}/{action}", headers=official(office, role))
                    if action == "return" and r.status_code == 409 and r.json()["code"] == "chain_continues":
                        break  # the result goes on to the chain's next office
                    assert r.status_code == 200, f"{action} at {office}: {r.status_code} {r.text}"
                else:
                    break  # returned to the citizen
                done.add(case["_id"])
            else:
                raise AssertionError(f"{code} was never returned")
        deadline = time.monotonic() + 120
        views = client[f"{sys_.prefix}_notify"]["dossiers"]
        while time.monotonic() < deadline:
            view = await views.find_one({"code": code})
            if view and any(entry.get("kind") == "returned" for entry in view.get("timeline") or []):
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"notify never recorded {code} as returned")
    finally:
        client.close()


def bench_growth(scale: dict[str, float]) -> dict[str, Any]:
    """The pipeline with empty stores against the same with ``growth`` finished dossiers in every database."""
    from bench.growth import local_postgres, seed, seed_in_postgres, take_template

    n, copies = int(scale["pipeline"]), int(scale["growth"])
    with system(PIPELINE_ENV) as sys_:
        key = asyncio.run(new_key(sys_))
        _warm_up(sys_, key)
        empty = _run_pipeline(sys_, key, n, label="growth: empty stores")
    with system(PIPELINE_ENV) as sys_:
        key = asyncio.run(new_key(sys_))
        sent = asyncio.run(_post_many(sys_["intake"].url, key, 1, 1))
        (code,) = sent
        _track(sys_, sent, 120, "growth: the template dossier")
        asyncio.run(_finish(sys_, code))  # a finished dossier: processed, approved, returned to the citizen
        asyncio.run(_drained(sys_))

        async def template() -> tuple[Any, str]:
            from motor.motor_asyncio import AsyncIOMotorClient

            client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(MONGO)
            try:
                doc = await client[f"{sys_.prefix}_intake"]["dossiers"].find_one({"code": code})
            finally:
                client.close()
            assert doc is not None, f"the template dossier {code} is not in intake's database"
            dbs = [f"{sys_.prefix}_{name}" for name in SERVICES]
            return await take_template(MONGO, dbs, dossier_id=str(doc["_id"]), code=code), str(doc["_id"])

        shape, dossier_id = asyncio.run(template())
        per_copy = sum(len(docs) for colls in shape.values() for docs in colls.values())
        pg = local_postgres(MONGO, REPO)
        t_seed = time.monotonic()
        with progress() as bar:
            task = bar.add_task(f"seeding {copies} dossiers × {per_copy} documents", total=copies)
            advance = lambda done: bar.update(task, completed=done)  # noqa: E731
            if pg is not None:  # the local FerretDB: copies made inside its PostgreSQL (bench/growth.py)
                written = seed_in_postgres(pg, shape, copies, dossier_id=dossier_id, code=code, on_progress=advance)
            else:
                written = asyncio.run(seed(MONGO, shape, copies, dossier_id=dossier_id, code=code, on_progress=advance))
        seeded_s = time.monotonic() - t_seed
        grown = _run_pipeline(sys_, key, n, label=f"growth: {copies} dossiers stored")
    return {
        "seeded_dossiers": copies,
        "documents_per_dossier": {
            f"{db.split('_', 1)[1]}.{c}": len(d) for db, cs in shape.items() for c, d in cs.items()
        },
        "documents_written": written,
        "seeding_s": round(seeded_s, 1),
        "seeding": "rows copied inside the local FerretDB's PostgreSQL" if pg is not None else "insert_many",
        "empty": empty,
        "grown": grown,
        "ratio": ratio(grown["throughput_dps"], empty["throughput_dps"]),
    }


BENCHMARKS: dict[str, Callable[[dict[str, float]], dict[str, Any]]] = {
    "footprint": bench_footprint,
    "intake": bench_intake,
    "pipeline": bench_pipeline,
    "scaling": bench_scaling,
    "recovery": bench_recovery,
    "clock": bench_clock,
    "growth": bench_growth,
}


def plot(results: dict[str, Any], path: Path) -> Path | None:
    """Completions per second of the pipeline runs (saturation, half rate, recovery, growth)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    growth = results.get("growth")
    pipeline = any(name in results for name in ("pipeline", "recovery"))
    panels = [name for name, present in (("pipeline", pipeline), ("growth", bool(growth))) if present]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels) + 1.5, 4), squeeze=False)
    if pipeline:
        ax = axes[0][0]
        runs = (
            (results.get("pipeline", {}), "pipeline (saturation)"),
            (results.get("pipeline", {}).get("at_half_saturation", {}), "pipeline at half its saturation"),
            (results.get("recovery", {}), "recovery (routing killed)"),
        )
        for run, label in runs:
            if series := run.get("series_per_s"):
                ax.plot(range(len(series)), series, label=label)
        if "recovery" in results:
            ax.axvline(results["recovery"]["killed_at_s"], color="red", linestyle="--", label="kill -9 routing")
        ax.set_xlabel("seconds since start")
        ax.set_ylabel("dossiers notified per second")
        ax.set_title("pipeline")
        ax.legend()
    if growth:
        ax = axes[0][len(panels) - 1]
        for run, label in (
            (growth["empty"], "empty stores"),
            (growth["grown"], f"{growth['seeded_dossiers']:,} stored"),
        ):
            if series := run.get("series_per_s"):
                ax.plot(range(len(series)), series, label=f"{label}: {run['throughput_dps']}/s")
        ax.set_xlabel("seconds since start")
        ax.set_ylabel("dossiers notified per second")
        ax.set_title(f"growth: ratio {growth['ratio']} (goal ≥ 0.8)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def table(results: dict[str, Any]) -> Table:
    t = Table(title="LienThong benchmarks (ours vs baseline, same run, same machine)")
    for col in ("benchmark", "ours", "baseline", "ratio", "goal"):
        t.add_column(col)
    if "intake" in results:
        r = results["intake"]
        t.add_row(
            "intake saturation (req/s)",
            str(r["ours_saturation"]["throughput_rps"]),
            str(r["baseline_saturation"]["throughput_rps"]),
            str(r["ratio_saturation"]),
            "≥ 0.8×",
        )
        t.add_row(
            f"intake p99 at {r['offered_fixed_rps']} req/s (ms)",
            str(r["ours_fixed"]["p99_ms"]),
            str(r["baseline_fixed"]["p99_ms"]),
            str(ratio(r["ours_fixed"]["p99_ms"], r["baseline_fixed"]["p99_ms"])),
            "< 100 ms",
        )
    if "pipeline" in results:
        r = results["pipeline"]
        t.add_row(
            "pipeline (dossiers/s)",
            str(r["throughput_dps"]),
            str(r["baseline_relay"]["throughput_mps"]),
            str(r["ratio"]),
            "≥ 0.5×",
        )
        t.add_row("pipeline p99 at saturation (ms)", str(r["p99_ms"]), str(r["baseline_relay"]["p99_ms"]), "", "")
        half = r["at_half_saturation"]
        t.add_row(f"pipeline p99 at {half['offered_dps']}/s (ms)", str(half["p99_ms"]), "", "", "≤ 1000 ms")
        cpu = r.get("cpu_ms_per_dossier") or {}
        t.add_row(
            "CPU ms per dossier",
            f"{round(sum(cpu.values()), 1)}: " + " · ".join(f"{name} {ms}" for name, ms in cpu.items()),
            "",
            "",
            "",
        )
    if "scaling" in results:
        r = results["scaling"]
        t.add_row(
            "routing 2 vs 1 instance (events/s)",
            str(r["instances_2"]["per_s"]),
            str(r["instances_1"]["per_s"]),
            str(r["ratio_2_to_1"]),
            "≥ 1.5×",
        )
    if "recovery" in results:
        r = results["recovery"]
        t.add_row("recovery after kill -9 routing (s)", str(r["recovered_s"]), "", "", "≤ 5 s")
    if "growth" in results:
        r = results["growth"]
        t.add_row(
            f"pipeline with {r['seeded_dossiers']:,} dossiers stored (dossiers/s)",
            str(r["grown"]["throughput_dps"]),
            f"{r['empty']['throughput_dps']} (empty)",
            str(r["ratio"]),
            "≥ 0.8×",
        )
    if "clock" in results:
        r = results["clock"]
        t.add_row(
            "legal clock due dates (per s)",
            str(r["ours_per_s"]),
            str(r["baseline_walk_per_s"]),
            str(r["ratio"]),
            "> 1×",
        )
    if "footprint" in results:
        base = results["footprint"]["baseline_fastapi"]
        for name in SERVICES:
            f = results["footprint"][name]
            t.add_row(
                f"{name} ready s / idle RSS MB",
                f"{f['ready_s']} / {f['idle_rss_mb']}",
                f"{base['ready_s']} / {base['idle_rss_mb']}",
                f"{ratio(f['ready_s'], base['ready_s'])} / {ratio(f['idle_rss_mb'], base['idle_rss_mb'])}",
                "≤ 3 s / ≤ 120 MB",
            )
    return t


@app.command()
def main(
    scale: str = typer.Option(os.environ.get("BENCH_SCALE", "full"), help="tiny, small (~5 min) or full (~20 min)"),
    only: list[str] = typer.Option([], help="Run only these benchmarks (repeatable)"),
    profile: bool = typer.Option(False, help="Run the pipeline's services under pyinstrument (bench/results/profiles)"),
    code: Path = typer.Option(REPO, help="Checkout whose services run (e.g. a worktree of main, for 'before')"),
    label: str = typer.Option("", help="Word added to the result file names (e.g. before)"),
) -> None:
    """Run the benchmarks, print the table, write bench/results/<date>.json and the throughput plot."""
    if scale not in SCALES:
        raise typer.BadParameter(f"scale must be one of {', '.join(SCALES)}")
    RUN.update(profile=profile, code_dir=code.resolve())
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M")
    name = f"{stamp}-{scale}{'-' + label if label else ''}"
    global PROFILES
    PROFILES = RESULTS / "profiles" / name
    chosen = only or list(BENCHMARKS)
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    for bench in chosen:
        console.rule(bench)
        results[bench] = BENCHMARKS[bench](SCALES[scale])
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "scale": scale,
        "at": stamp,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "code": str(RUN["code_dir"]),
        "commit": subprocess.run(
            ["git", "-C", str(RUN["code_dir"]), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or label,
        # the machine is shared: the load average says how much of it the run had
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "profiles": str(PROFILES.relative_to(REPO)) if profile else None,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"meta": meta, **results}, indent=1, default=str))
    png = plot(results, RESULTS / f"{name}.png") if {"pipeline", "recovery", "growth"} & set(results) else None
    console.print(table(results))
    console.print(f"results: {path.relative_to(REPO)}" + (f", plot: {png.relative_to(REPO)}" if png else ""))


if __name__ == "__main__":
    app()
