"""Load generator, run as its own process: POSTs dossiers at a fixed rate or as fast as it can.

Prints one JSON object: requests sent, status counts, and the latencies (ms) of the measured window
(warm-up excluded). ``python -m bench.load --url ... --key ... --mode rate --rate 50 --duration 10``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx

DOCS = ["to_khai", "giay_chung_sinh"]


def dossier() -> dict[str, Any]:
    """The same request body the end-to-end tests post (LT-HT-001, online)."""
    return {
        "procedure_code": "LT-HT-001",
        "channel": "online",
        "applicant": {
            "full_name": "Trần Thị Bình",
            "citizen_id": "001303012345",
            "phone": "0912345678",
            "address": {"ward_code": "00070"},
        },
        "documents": [
            {"code": d, "title": d, "content_type": "application/pdf", "size": 100, "sha256": "c" * 64} for d in DOCS
        ],
    }


async def run(
    url: str, key: str, mode: str, rate: float, concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = dossier()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration

        async def one() -> None:
            nonlocal errors
            t0 = time.perf_counter()
            try:
                r = await http.post(url, json=body, headers=headers)
            except httpx.HTTPError:
                errors += 1
                return
            t1 = time.perf_counter()
            if t0 >= measure_from and t1 <= stop_at:
                latencies.append((t1 - t0) * 1000)
                statuses[r.status_code] += 1

        if mode == "rate":
            tasks: set[asyncio.Task[None]] = set()
            n = 0
            while True:
                due = start + n / rate
                now = time.perf_counter()
                if due >= stop_at:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
                task = asyncio.create_task(one())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.gather(*tasks)
        else:

            async def worker() -> None:
                while time.perf_counter() < stop_at:
                    await one()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"latencies_ms": latencies, "statuses": dict(statuses), "errors": errors, "duration_s": duration}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key", default="")
    p.add_argument("--mode", choices=["rate", "saturate"], default="rate")
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    a = p.parse_args()
    out = asyncio.run(run(a.url, a.key, a.mode, a.rate, a.concurrency, a.duration, a.warmup))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
