"""``python bench/profiled.py OUT -m services.<name>``: run a service under pyinstrument and keep its report.

Why not ``python -m pyinstrument``: uvicorn captures SIGTERM/SIGINT, shuts down gracefully and then
re-raises the signal with the handlers it found at start. Under ``pyinstrument -m`` those are the
interpreter's defaults, so the process dies by the signal (or skips pyinstrument's writer) and the report
comes out empty. Here the handler uvicorn finds turns the re-raised signal into ``SystemExit``, so the
``finally`` below stops the profiler and writes ``OUT.txt`` (the call tree with time per frame) after
every graceful stop.

The sampler sees real stacks (``async_mode="disabled"``): time the event loop spends waiting on the
store or the broker shows as ``select``/``epoll`` under ``run_forever``, the CPU a dossier costs as the
frames of the handlers that ran.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path
from types import FrameType

from pyinstrument import Profiler


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> None:
    """Profile ``-m module [args]`` and write the report to ``argv[0]`` (.txt)."""
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python bench/profiled.py OUT -m MODULE [ARGS...]")
    out, module, rest = Path(argv[0]), argv[2], argv[3:]
    out.parent.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    profiler = Profiler(interval=0.001, async_mode="disabled")
    sys.argv = [module, *rest]
    # run as a script (so a "before" checkout without this file can be profiled): the service's code is
    # the working directory's, not this file's directory
    sys.path[0] = os.getcwd()
    profiler.start()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        session = profiler.stop()
        out.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
        print(f"profile: {session.duration:.1f} s sampled, report in {out.with_suffix('.txt')}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
