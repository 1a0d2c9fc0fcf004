"""What one hand-off to another thread costs on this machine, from an asyncio program.

    python bench/handoff.py

Both stacks in compare.py pay these: every aiosqlite call is a round trip to the connection's
thread, and a sync node runs through `loop.run_in_executor`. Prints wall time and CPU time
(this thread's, and the whole process's) per no-op round trip, so the runs and resumes figures
can be read against them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

import aiosqlite

ROUNDS = 3000


async def measure(label: str, call) -> None:
    for _ in range(200):  # warm up
        await call()
    wall, own, process = time.perf_counter(), time.thread_time(), time.process_time()
    for _ in range(ROUNDS):
        await call()
    wall, own, process = (time.perf_counter() - wall, time.thread_time() - own, time.process_time() - process)
    print(f"{label:<42} wall {wall / ROUNDS * 1e6:6.0f} us   event-loop thread CPU "
          f"{own / ROUNDS * 1e6:5.0f} us   process CPU {process / ROUNDS * 1e6:5.0f} us")


async def main() -> None:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as folder:
        conn = await aiosqlite.connect(os.path.join(folder, "handoff.sqlite"), isolation_level=None)
        try:
            await measure("aiosqlite round trip (no-op function)", lambda: conn._execute(lambda: None))
            await measure("aiosqlite round trip (SELECT 1)", lambda: conn.execute_fetchall("SELECT 1"))
            await measure("run_in_executor (no-op function)", lambda: loop.run_in_executor(None, lambda: None))
            await measure("asyncio.sleep(0), no thread (for scale)", lambda: asyncio.sleep(0))
        finally:
            await conn.close()
    print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; load average "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    asyncio.run(main())
