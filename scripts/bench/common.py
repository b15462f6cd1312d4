"""Small pieces the benchmarks share: progress lines, latency statistics, a closed-loop load
generator, server subprocesses (start, wait for health, memory, stop) and the result table.

Nothing here asserts on timings: benchmarks report, people judge.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
_T0 = time.perf_counter()


# --- progress ---------------------------------------------------------------------------------

def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", flush=True)


@contextlib.contextmanager
def step(label: str) -> Iterator[None]:
    log(f"{label} …")
    started = time.perf_counter()
    yield
    log(f"{label}: done in {time.perf_counter() - started:.1f}s")


# --- statistics -------------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(latencies_ms),
        "p50_ms": _round(percentile(latencies_ms, 50)),
        "p99_ms": _round(percentile(latencies_ms, 99)),
        "max_ms": _round(max(latencies_ms) if latencies_ms else None),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


# --- closed-loop load -------------------------------------------------------------------------

@dataclass
class LoadResult:
    duration_s: float
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    client_cpu_pct: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 2),
            "ok": self.ok,
            "errors": self.errors,
            "per_s": round(self.ok / self.duration_s, 1) if self.duration_s else None,
            **latency_summary(self.latencies_ms),
            "status_counts": self.status_counts,
            "first_error": self.first_error,
            "client_cpu_pct": self.client_cpu_pct,
        }


# One call = one operation: returns None on success, else a short description of the failure
# (its status and body). Each worker gets its index and a per-worker sequence number.
Operation = Callable[[int, int], Awaitable[str | None]]


async def closed_loop(operation: Operation, *, concurrency: int, duration: float,
                      warmup: float = 1.0) -> LoadResult:
    """`concurrency` workers each run `operation` back to back: `warmup` seconds unrecorded,
    then `duration` seconds recorded (an operation counts if it started inside the window)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration
    result = LoadResult(duration_s=duration)
    cpu_at_start: list[float] = []

    async def worker(index: int) -> None:
        seq = 0
        while (began := loop.time()) < stop_at:
            seq += 1
            try:
                failure = await operation(index, seq)
            except Exception as exc:  # a broken connection is an error like a 500
                failure = f"{type(exc).__name__}: {exc}"
            if began < measure_from:
                continue
            if not cpu_at_start:
                cpu_at_start.append(time.process_time())
            elapsed_ms = (loop.time() - began) * 1000
            if failure is None:
                result.ok += 1
                result.latencies_ms.append(elapsed_ms)
                key = "ok"
            else:
                result.errors += 1
                key = failure.split(" ", 1)[0]
                if result.first_error is None:
                    result.first_error = failure[:1000]
            result.status_counts[key] = result.status_counts.get(key, 0) + 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    if cpu_at_start:
        result.client_cpu_pct = round((time.process_time() - cpu_at_start[0]) / duration * 100, 1)
    return result


# --- server subprocesses ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_status_kb(pid: int, key: str) -> int | None:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    except Exception:
        return []
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            for child in (task / "children").read_text().split():
                found.append(int(child))
                found.extend(_children(int(child)))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Server:
    """An HTTP server subprocess in its own process group, so stopping it stops its workers."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int,
                 log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv
                self.argv, env=self.env, cwd=REPO_ROOT, stdout=log_file,
                stderr=subprocess.STDOUT, start_new_session=True)

    async def wait_healthy(self, path: str, limit_s: float = 60.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + limit_s
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}: "
                                       f"{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(path)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy after {limit_s:.0f}s: {self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the process itself with one worker, else the
        uvicorn worker children (not multiprocessing's helpers)."""
        if self.process is None:
            return []
        children = [pid for pid in _children(self.process.pid)
                    if "resource_tracker" not in _cmdline(pid)]
        return children or [self.process.pid]

    def memory_kb(self) -> dict[str, int]:
        """Summed VmRSS and VmHWM (peak RSS) of the worker processes."""
        pids = self.worker_pids()
        return {key: sum(read_status_kb(pid, key) or 0 for pid in pids)
                for key in ("VmRSS", "VmHWM")}

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its workers so far."""
        total = 0.0
        for pid in {*([self.process.pid] if self.process else []), *self.worker_pids()}:
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


# --- what the machine and the database were doing ------------------------------------------

def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_pct(before: tuple[float, float], after: tuple[float, float]) -> float:
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total * 100, 1) if total else 0.0


@contextlib.asynccontextmanager
async def pg_activity(dsn: str, database: str, every: float = 0.05):
    """Sample pg_stat_activity of `database` while the block runs; yields a dict filled at the
    end with the share of sampled backends in each state / wait event, e.g.
    {"active:CPU": 41.0, "idle in transaction:Client:ClientRead": 30.5, "active:Lock:tuple": …}.
    "idle in transaction" = the app holds a transaction open while doing something else."""
    import asyncpg

    counts: dict[str, int] = {}
    report: dict[str, Any] = {}
    stop = asyncio.Event()
    conn = await asyncpg.connect(dsn)
    query = """SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait
               FROM pg_stat_activity
               WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'"""

    async def sample() -> None:
        samples = 0
        while not stop.is_set():
            for row in await conn.fetch(query, database):
                key = f"{row['state']}:{row['wait']}"
                counts[key] = counts.get(key, 0) + 1
            samples += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        total = sum(counts.values()) or 1
        report["samples"] = samples
        report["avg_busy_backends"] = round(sum(counts.values()) / max(samples, 1), 1)
        report["share_pct"] = {k: round(v / total * 100, 1) for k, v in
                               sorted(counts.items(), key=lambda kv: -kv[1])}

    task = asyncio.create_task(sample())
    try:
        yield report
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await task
        await conn.close()


# --- the table --------------------------------------------------------------------------------

def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_table(rows: Sequence[Sequence[str]],
                 header: Sequence[str] = ("metric", "api", "baseline", "ratio", "target",
                                          "met")) -> str:
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in table)
