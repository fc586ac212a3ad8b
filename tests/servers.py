"""Real, private servers for the tests: ``redis-server``, a Redis Cluster and PostgreSQL.

Each server runs from a temporary directory on free loopback ports (never the standard 6379 or
5432, where system services may listen), is waited for with a bounded timeout, and is stopped by
its pid.  Every helper is a context manager that cleans up even when starting fails; an ``atexit``
hook also stops whatever is still running if the test process is interrupted.

    with RedisServer(appendonly=True) as server:      # server.url == "redis://127.0.0.1:PORT/0"
        server.stop(); server.start()                  # same port, same dir: the AOF keeps the data
    with RedisClusterServers() as cluster:            # 3 masters + 3 replicas, cluster.url
        killed = cluster.kill_master_for("pg:{u1}:a"); cluster.wait_failover(killed)
    with PostgresServer() as pg:                       # pg.url == "postgresql+asyncpg://postgres@…"
        ...
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

T = TypeVar("T")

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CLUSTER_NODE_TIMEOUT_MS = 1000
_RESERVED_PORTS = {6379, 5432}

_running: set[Any] = set()


class ServerError(RuntimeError):
    """A test server could not be started, or did not reach the state a test waits for."""


def _stop_all_at_exit() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.close()


atexit.register(_stop_all_at_exit)


# -- small helpers ---------------------------------------------------------------------------------


def require_binary(name: str) -> str:
    """The path of ``name`` on PATH, or a ServerError saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise ServerError(f"{name!r} is not installed (not on PATH); `make test` installs it with apt-get")
    return path


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, with_bus: bool = False) -> int:
    """A free loopback port; with ``with_bus`` also ``port + 10000`` (a Redis Cluster bus port)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port in _RESERVED_PORTS:
            continue
        if with_bus and (port + 10000 > 65535 or not _port_free(port + 10000)):
            continue
        return port
    raise ServerError("no free loopback port found")


def wait_until(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Call ``check`` until it returns something other than None (or False); ServerError on timeout."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
            if result is not None and result is not False:
                return result
        except Exception as exc:  # the server is not there yet
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise ServerError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if the test process dies without cleaning up.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_and_wait(pid: int, sig: int, timeout: float) -> bool:
    """Send ``sig`` to ``pid`` and wait for it to exit; True when it did."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        if not _pid_alive(pid):
            return True
        time.sleep(0.02)
    return False


def _command(client: Any, *args: Any) -> Any:
    return client.execute_command(*args)  # (not annotated in redis-py)


def redis_call(port: int, *args: Any, timeout: float = 1.0) -> Any:
    """One command to the redis-server on ``port`` (decoded responses, no retries)."""
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    with client:
        return _command(client, *args)


def replication_streams(port: int, replicas: int, probe_key: str = "passgate-test-probe") -> bool:
    """True once a write on ``port`` reaches ``replicas`` replicas within 100 ms (WAIT on its connection).

    Right after a full sync a master streams to a replica only after the replica's first ACK, which
    can take a second: tests that need ``WAIT`` to succeed at once wait for this first.
    """
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
        single_connection_client=True,
    )
    with client:
        _command(client, "SET", probe_key, "1", "PX", "1000")
        return int(_command(client, "WAIT", replicas, 100)) >= replicas


def _info(port: int, section: str) -> dict[str, str]:
    text = redis_call(port, "INFO", section)
    if isinstance(text, dict):  # redis-py parses INFO into a dict
        return {str(k): str(v) for k, v in text.items()}
    return dict(line.split(":", 1) for line in str(text).splitlines() if ":" in line)


# -- a single redis-server ------------------------------------------------------------------------


class RedisServer:
    """One private ``redis-server``; ``stop()``/``start()`` keep the port and the data dir."""

    def __init__(
        self,
        *,
        appendonly: bool = False,
        cluster: bool = False,
        port: int | None = None,
        directory: Path | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.binary = require_binary("redis-server")
        self.appendonly = appendonly
        self.cluster = cluster
        self.port = port if port is not None else free_port(with_bus=cluster)
        self._own_dir = directory is None
        self.dir = directory if directory is not None else Path(tempfile.mkdtemp(prefix="passgate-redis-"))
        self.extra = dict(extra or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _config(self) -> str:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": str(self.dir),
            "daemonize": "no",
            "save": '""',
            "appendonly": "yes" if self.appendonly else "no",
            "appendfsync": "everysec",
            "logfile": '""',
            "repl-diskless-sync": "yes",
            "repl-diskless-sync-delay": "0",
        }
        if self.cluster:
            options.update(
                {
                    "cluster-enabled": "yes",
                    "cluster-config-file": "nodes.conf",
                    "cluster-node-timeout": str(CLUSTER_NODE_TIMEOUT_MS),
                    "cluster-replica-validity-factor": "0",
                }
            )
        options.update(self.extra)
        return "".join(f"{name} {value}\n" for name, value in options.items())

    def start(self, *, timeout: float = START_TIMEOUT) -> RedisServer:
        if self.running:
            return self
        config = self.dir / "redis.conf"
        config.write_text(self._config())
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 (kept for the process's life)
        try:
            self.process = subprocess.Popen(
                [self.binary, str(config)],
                cwd=self.dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        _running.add(self)
        try:
            wait_until(self._ready, timeout=timeout, what=f"redis-server on port {self.port}")
        except BaseException:
            self.kill()
            raise ServerError(f"redis-server on port {self.port} did not start:\n{self.log_tail()}") from None
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(f"redis-server exited ({self.process.returncode}):\n{self.log_tail()}")
        return bool(redis_call(self.port, "PING", timeout=0.5))

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.dir / "redis.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """A clean shutdown (SIGTERM: the AOF is flushed); SIGKILL if it takes too long."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash."""
        self._end(signal.SIGKILL, STOP_TIMEOUT)

    def _end(self, sig: int, timeout: float) -> None:
        process, self.process = self.process, None
        _running.discard(self)
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)

    def close(self) -> None:
        self.kill()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, *args: Any, timeout: float = 1.0) -> Any:
        return redis_call(self.port, *args, timeout=timeout)

    def replica_get(self, key: str) -> str | None:
        """GET on a cluster replica (``READONLY`` first, on the same connection, or it answers MOVED)."""
        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
            single_connection_client=True,
        )
        with client:
            _command(client, "READONLY")
            value = _command(client, "GET", key)
        return None if value is None else str(value)

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- a master, its replica and three sentinels ------------------------------------------------------

SENTINEL_SERVICE = "passgate"


class RedisSentinels:
    """A ``redis-server`` master with one replica, watched by three sentinels (quorum 2) that
    promote the replica one second after the master stops answering."""

    def __init__(self) -> None:
        self.binary = require_binary("redis-server")
        self.master = RedisServer()
        self.replica = RedisServer(extra={"replicaof": f"127.0.0.1 {self.master.port}"})
        self.dir = Path(tempfile.mkdtemp(prefix="passgate-sentinel-"))
        self.ports = [free_port() for _ in range(3)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"redis+sentinel://{hosts}/{SENTINEL_SERVICE}"

    def start(self, *, timeout: float = 30.0) -> RedisSentinels:
        self.master.start()
        self.replica.start()
        wait_until(lambda: replication_streams(self.master.port, 1), timeout=timeout, what="the replica to sync")
        for port in self.ports:
            config = self.dir / f"sentinel-{port}.conf"  # sentinels rewrite their own config
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.dir}\nlogfile \"\"\n"
                f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 1000\n"
                f"sentinel failover-timeout {SENTINEL_SERVICE} 5000\n"
            )
            log = open(self.dir / f"sentinel-{port}.log", "ab")  # noqa: SIM115 (kept for the process's life)
            self.processes.append(subprocess.Popen([self.binary, str(config), "--sentinel"], cwd=self.dir, stdout=log,
                                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                   preexec_fn=_die_with_parent))
            log.close()
        wait_until(lambda: all(self.master_port(port) == self.master.port for port in self.ports), timeout=timeout,
                   what="the sentinels to agree on the master")
        # The sentinels reconfigure the replica when they first see it (it resyncs): until it acknowledges
        # writes again, a write's WAIT would time out.
        wait_until(lambda: all(self._knows_replica(port) for port in self.ports), timeout=timeout,
                   what="the sentinels to know the replica")
        wait_until(lambda: replication_streams(self.master.port, 1), timeout=timeout,
                   what="the replica to acknowledge a write")
        return self

    def _knows_replica(self, sentinel_port: int) -> bool:
        with contextlib.suppress(Exception):
            replicas = redis_call(sentinel_port, "SENTINEL", "replicas", SENTINEL_SERVICE)
            return any(int(r.get("port", 0)) == self.replica.port and "s_down" not in r.get("flags", "")
                       and r.get("master-link-status") == "ok" for r in replicas)
        return False

    def master_port(self, sentinel_port: int) -> int | None:
        with contextlib.suppress(Exception):
            host_port = redis_call(sentinel_port, "SENTINEL", "get-master-addr-by-name", SENTINEL_SERVICE)
            return int(host_port[1])
        return None

    def fail_over(self, *, timeout: float = 30.0) -> RedisServer:
        """Kill the master; once the sentinels have promoted the replica, that is the master."""
        old = self.master
        old.kill()
        wait_until(lambda: self.master_port(self.ports[0]) == self.replica.port, timeout=timeout,
                   what="the sentinels to promote the replica")
        self.master, self.replica = self.replica, old
        return old

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_TIMEOUT)
        self.master.close()
        self.replica.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisSentinels:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- a Redis Cluster ------------------------------------------------------------------------------


class RedisClusterServers:
    """Six ``redis-server`` nodes made into a cluster of 3 masters with one replica each."""

    def __init__(self, *, masters: int = 3, replicas: int = 1) -> None:
        self.cli = require_binary("redis-cli")
        require_binary("redis-server")
        self.root = Path(tempfile.mkdtemp(prefix="passgate-cluster-"))
        self.masters = masters
        self.replicas = replicas
        self._replicas_of: dict[int, list[int]] = {}
        self.nodes: list[RedisServer] = []
        for index in range(masters * (1 + replicas)):
            directory = self.root / f"node{index}"
            directory.mkdir()
            self.nodes.append(RedisServer(cluster=True, directory=directory))

    @property
    def url(self) -> str:
        """``redis+cluster://`` with three seeds."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[:3])

    @property
    def live_nodes(self) -> list[RedisServer]:
        return [node for node in self.nodes if node.running]

    def start(self, *, timeout: float = 30.0) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        result = subprocess.run(
            [self.cli, "--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise ServerError(f"redis-cli --cluster create failed:\n{result.stdout}\n{result.stderr}")
        self.wait_healthy(timeout=timeout)
        return self

    def _node_table(self, port: int) -> list[dict[str, Any]]:
        """``CLUSTER NODES`` as dicts: id, port, flags, master (id or "-"), slots (list of ranges)."""
        text = redis_call(port, "CLUSTER", "NODES")
        if not isinstance(text, str):
            raise ServerError("unexpected CLUSTER NODES reply")
        table = []
        for line in text.strip().splitlines():
            fields = line.split()
            slots = [
                tuple(int(p) for p in s.split("-")) if "-" in s else (int(s), int(s))
                for s in fields[8:]
                if not s.startswith("[")
            ]
            table.append(
                {
                    "id": fields[0],
                    "port": int(fields[1].split("@")[0].rsplit(":", 1)[1]),
                    "flags": set(fields[2].split(",")),
                    "master": fields[3],
                    "slots": slots,
                }
            )
        return table

    def node_by_port(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def master_for(self, key: str) -> RedisServer:
        """The node that owns ``key``'s slot, as a live node sees it."""
        probe = self.live_nodes[0].port
        slot = int(redis_call(probe, "CLUSTER", "KEYSLOT", key))
        for entry in self._node_table(probe):
            if (
                "master" in entry["flags"]
                and "fail" not in entry["flags"]
                and any(lo <= slot <= hi for lo, hi in entry["slots"])
            ):
                return self.node_by_port(entry["port"])
        raise ServerError("no live master owns the slot")

    def wait_healthy(self, *, timeout: float = 30.0) -> None:
        """Until every live node says cluster_state:ok and sees the others alive, and replicas are in sync."""
        live = self.live_nodes

        def healthy() -> bool:
            for node in live:
                info = redis_call(node.port, "CLUSTER", "INFO")
                if "cluster_state:ok" not in str(info):
                    return False
                table = self._node_table(node.port)
                if any(
                    "fail" in e["flags"] or "fail?" in e["flags"] for e in table if e["port"] in {n.port for n in live}
                ):
                    return False
                replication = _info(node.port, "replication")
                if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                    return False
            masters = [n for n in live if _info(n.port, "replication").get("role") == "master"]
            if len(masters) != self.masters:  # e.g. a revived master that has not yet stepped down
                return False
            for master in masters:
                # a master whose replicas are all alive has them connected and online
                expected = sum(
                    1
                    for e in self._node_table(master.port)
                    if e["master"] == self._node_id(master) and e["port"] in {n.port for n in live}
                )
                if int(_info(master.port, "replication").get("connected_slaves", "0")) < expected:
                    return False
                if expected and not replication_streams(master.port, expected, self._probe_key(master)):
                    return False
            return True

        wait_until(healthy, timeout=timeout, what="the Redis Cluster to be healthy", interval=0.1)

    def _probe_key(self, master: RedisServer) -> str:
        """A key in one of ``master``'s slots."""
        ranges = next(e["slots"] for e in self._node_table(master.port) if "myself" in e["flags"])
        for index in range(100_000):
            key = f"passgate-test-probe-{index}"
            if any(lo <= key_slot(key.encode()) <= hi for lo, hi in ranges):
                return key
        raise ServerError("no probe key found")

    def _node_id(self, node: RedisServer) -> str:
        return str(redis_call(node.port, "CLUSTER", "MYID"))

    def replicas_of(self, master: RedisServer) -> list[RedisServer]:
        master_id = self._node_id(master)
        return [self.node_by_port(e["port"]) for e in self._node_table(master.port) if e["master"] == master_id]

    def kill_master_for(self, key: str) -> RedisServer:
        """SIGKILL the master that owns ``key``; returns that node (see :meth:`wait_failover`)."""
        master = self.master_for(key)
        self._replicas_of[master.port] = [replica.port for replica in self.replicas_of(master)]
        master.kill()
        return master

    def wait_failover(self, killed: RedisServer, *, timeout: float = 20.0) -> RedisServer:
        """Until a replica of ``killed`` is a master with slots and every live node says cluster_state:ok."""
        candidates = self._replicas_of.get(killed.port, [])

        def promoted() -> RedisServer | None:
            live = self.live_nodes
            if not all("cluster_state:ok" in str(redis_call(n.port, "CLUSTER", "INFO")) for n in live):
                return None
            for entry in self._node_table(live[0].port):
                if entry["port"] in candidates and "master" in entry["flags"] and entry["slots"]:
                    return self.node_by_port(entry["port"])
            return None

        return wait_until(promoted, timeout=timeout, what="a replica to be promoted", interval=0.05)

    def revive(self, node: RedisServer, *, timeout: float = 30.0) -> None:
        """Start a killed node again (it rejoins as a replica) and wait until the cluster is healthy."""
        node.start()
        self.wait_healthy(timeout=timeout)

    def flushall(self) -> None:
        for node in self.live_nodes:
            if _info(node.port, "replication").get("role") == "master":
                redis_call(node.port, "FLUSHALL")

    def close(self) -> None:
        for node in self.nodes:
            node.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RedisClusterServers:
        _running.add(self)
        try:
            return self.start()
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        _running.discard(self)
        self.close()


# -- PostgreSQL -----------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb``, or where ``pg_ctl`` is on PATH."""
    candidates = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    if candidates:
        return candidates[0]
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            return Path(found).parent
    raise ServerError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH); "
        "`make test` installs it with apt-get"
    )


class PostgresServer:
    """A private PostgreSQL cluster: trust auth, 127.0.0.1 only, fsync off.

    PostgreSQL refuses to run as root, so as root the temp dir is given to the ``postgres`` user and
    ``initdb`` and the postmaster run under ``runuser -u postgres --``; otherwise they run directly.
    The postmaster runs in the foreground as a child of the test process (not daemonised by
    ``pg_ctl``), so that it dies with the test process even when that is killed outright.
    """

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self._prefix: list[str] = []
        user = None
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerError("running as root, but there is no 'postgres' user") from None
            self._prefix = [require_binary("runuser"), "-u", "postgres", "--"]
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="passgate-pg-"))
        if user is not None:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data = self.root / "data"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (under ``runuser`` it is not the child's own pid)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return None

    def _run(self, *args: str, timeout: float) -> None:
        result = subprocess.run(
            [*self._prefix, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
        )
        if result.returncode != 0:
            name = Path(args[0]).name
            raise ServerError(f"{name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self, *, timeout: float = 60.0) -> PostgresServer:
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
        self._run(*initdb, "--encoding=UTF8", "--no-sync", timeout=timeout)
        settings = {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.root)]
        command += [f"-c{name}={value}" for name, value in settings.items()]
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 (kept for the process's life)
        try:
            self.process = subprocess.Popen(
                [*self._prefix, *command],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        wait_until(self._ready, timeout=timeout, what=f"PostgreSQL on port {self.port}")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(f"postgres exited ({self.process.returncode}):\n{self.log_tail()}")
        lines = (self.data / "postmaster.pid").read_text().splitlines()
        if len(lines) < 8 or lines[7].strip() != "ready":  # the status line of PostgreSQL 10+
            return False
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.root / "postgres.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster, by pid), SIGKILL when it lingers."""
        process, self.process = self.process, None
        if process is None:
            return
        pid = self.pid
        if pid is not None and _pid_alive(pid) and not _signal_and_wait(pid, signal.SIGINT, STOP_TIMEOUT):
            _signal_and_wait(pid, signal.SIGKILL, STOP_TIMEOUT)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        _running.add(self)
        try:
            return self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        _running.discard(self)
        self.close()


@contextlib.contextmanager
def redis_server(**options: Any) -> Iterator[RedisServer]:
    with RedisServer(**options) as server:
        yield server


# -- an SMTP server --------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and ``127.0.0.1`` (made with ``cryptography``):
    the certificate and key files.  A client trusts it through ``SSL_CERT_FILE=<certificate>``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class SmtpServer:
    """A private aiosmtpd server (``tests/smtpd.py``) as its own process on a free loopback port;
    it saves each mail it takes in ``directory``, where :meth:`messages` reads them.  ``stop()``,
    ``kill()`` and ``start()`` again keep the port and the mails."""

    def __init__(self, directory: Path, *, tls: bool = False, user: str | None = None,
                 password: str | None = None) -> None:
        self.directory, self.port = directory, free_port()
        self.mail_dir = directory / "mail"
        self.certificate: Path | None = None
        self._args = ["--port", str(self.port), "--dir", str(self.mail_dir)]
        if tls:
            self.certificate, key = self_signed_certificate(directory)
            self._args += ["--cert", str(self.certificate), "--key", str(key)]
        if user:
            self._args += ["--user", user, "--password", password or ""]
        self.user, self.password = user, password
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "smtp+starttls" if self.certificate else "smtp"
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        import sys

        self.directory.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parents[1]
        with open(self.directory / "smtpd.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.smtpd", *self._args], cwd=root,
                                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        _running.add(self)

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ServerError(f"the SMTP server exited: {(self.directory / 'smtpd.log').read_text()}")
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                return sock.recv(4).startswith(b"220")

        wait_until(listening, timeout=START_TIMEOUT, what="the SMTP server")
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        _running.discard(self)

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, as a crashed mail server is."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait(STOP_TIMEOUT)
        _running.discard(self)

    close = stop

    def messages(self) -> list[Any]:
        """Every mail taken so far, oldest first, as ``email.message.EmailMessage``."""
        import email
        import email.policy

        if not self.mail_dir.is_dir():
            return []
        # tests/smtpd.py writes each mail to a dot-file, then renames it: a dot-file is not a mail yet.
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(self.mail_dir.glob("*.eml")) if not path.name.startswith(".")]

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
