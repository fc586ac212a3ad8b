"""The session cluster: three ``passgate serve`` nodes on one Redis (or a Redis Cluster) and PostgreSQL."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.api import Session, assert_problem, bearer, cookie_value, login, new_name, register, tokens
from tests.nodes import SHARED_SECRET, Node, free_port, wait_until
from tests.servers import RedisClusterServers, RedisSentinels, RedisServer

pytestmark = pytest.mark.postgres

Nodes = Callable[..., Node]


@pytest.fixture
def trio(nodes: Nodes, tmp_path: Path, redis_server: RedisServer, postgres_url: str) -> Iterator[list[Node]]:
    redis_server.call("FLUSHALL")
    yield [nodes("--store", redis_server.url, "--database-url", postgres_url, "--login-limit", "10/5m",
                 data_dir=tmp_path / "shared", env=SHARED_SECRET) for _ in range(3)]
    # The shared server goes back clean: failed logins counted here (127.0.0.1's, test_failed_logins_count_
    # across_nodes) would refuse the logins of the next module's tests that share it.
    redis_server.call("FLUSHALL")


def test_any_node_serves_any_login(trio: list[Node]) -> None:
    one, two, three = (node.client() for node in trio)
    with one, two, three:
        name, _ = register(one)
        session, pair = login(one, name), tokens(one, name)
        assert two.get("/api/me", headers=session.headers()).json()["username"] == name
        assert three.get("/api/me", headers=bearer(pair["access_token"])).json()["username"] == name
        post = two.post("/api/posts", json={"title": "from node 2"}, headers=session.headers())
        assert post.status_code == 201
        by_token = three.post("/api/posts", json={"title": "from 3"}, headers=bearer(pair["access_token"]))
        assert by_token.status_code == 201
        assert any(p["id"] == post.json()["id"] for p in one.get("/api/posts").json())
        refreshed = two.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}).json()
        assert one.get("/api/me", headers=bearer(refreshed["access_token"])).status_code == 200
        keys = [c.get("/.well-known/jwks.json").json() for c in (one, two, three)]
        assert keys[0] == keys[1] == keys[2]


def test_logout_on_one_node_holds_on_the_others_within_a_second(trio: list[Node]) -> None:
    one, _, three = (node.client() for node in trio)
    with one, three:
        name, _ = register(one)
        session, pair = login(one, name), tokens(one, name)
        assert one.get("/api/me", headers=session.headers()).status_code == 200
        assert one.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        assert three.delete("/api/session", headers=session.headers()).status_code == 204
        assert three.post("/api/token/revoke", headers=bearer(pair["access_token"])).status_code == 204
        assert three.get("/api/me", headers=session.headers()).status_code == 401  # at once where it was answered
        lag = wait_until(lambda: one.get("/api/me", headers=session.headers()).status_code == 401, 1.0)
        wait_until(lambda: one.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401, 1.0)
        print(f"revocation seen on node 1 after {lag * 1000:.0f} ms")


def test_password_change_on_one_node_holds_on_another(trio: list[Node]) -> None:
    one, two, _ = (node.client() for node in trio)
    with one, two:
        name, password = register(one)
        mine, other = login(one, name), login(one, name)
        assert two.get("/api/me", headers=other.headers()).status_code == 200
        assert two.get("/api/me", headers=mine.headers()).status_code == 200
        change = {"current_password": password, "new_password": "another password"}
        changed = one.put("/api/me/password", json=change, headers=mine.headers())
        assert changed.status_code == 204
        wait_until(lambda: two.get("/api/me", headers=other.headers()).status_code == 401, 1.0)
        wait_until(lambda: two.get("/api/me", headers=mine.headers()).status_code == 401, 1.0)  # its old id
        renewed = Session(cookie_value(changed), mine.csrf, mine.id)
        assert two.get("/api/me", headers=renewed.headers()).json()["session_id"] == mine.id


def _admin(node: Node, store: str, database: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(node.data_dir), "--store", store,
         "--database-url", database], capture_output=True, text=True, env=node.env, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_a_disabled_account_is_refused_on_every_node_within_a_second(
    trio: list[Node], redis_server: RedisServer, postgres_url: str
) -> None:
    one, two, three = (node.client() for node in trio)
    with one, two, three:
        name, password = register(one)
        session, pair = login(two, name), tokens(three, name)
        for client in (one, two, three):
            assert client.get("/api/me", headers=session.headers()).status_code == 200
            assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        assert _admin(trio[0], redis_server.url, postgres_url, "user", "disable", name)["revoked"] == 2
        started = time.monotonic()
        def ended(client: httpx.Client) -> bool:
            return all(client.get("/api/me", headers=headers).status_code == 401
                       for headers in (session.headers(), bearer(pair["access_token"])))

        for client in (one, two, three):
            wait_until(lambda: ended(client), 1.0)  # noqa: B023  (called before the loop moves on)
        lag = (time.monotonic() - started) * 1000
        print(f"disabled account refused on every node {lag:.0f} ms after the CLI answered")
        for client in (one, two, three):
            refused = client.post("/api/session", json={"username": name, "password": password})
            assert_problem(refused, 403, "account_disabled")
            assert_problem(client.post("/api/token", json={"username": name, "password": password}), 403,
                           "account_disabled")
        wrong = one.post("/api/session", json={"username": name, "password": "not the password"})
        assert_problem(wrong, 401, "invalid_credentials")  # a stranger learns nothing of the state
        assert_problem(two.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}), 401)
        assert _admin(trio[0], redis_server.url, postgres_url, "user", "enable", name) == {
            "username": name, "disabled": False}
        assert three.post("/api/session", json={"username": name, "password": password}).status_code == 200


def test_killing_a_node_loses_nothing(trio: list[Node]) -> None:
    one, two, three = trio
    with one.client() as client:
        name, _ = register(client)
        session, pair = login(client, name), tokens(client, name)
    two.kill()
    for node in (one, three):
        with node.client() as client:
            assert client.get("/api/me", headers=session.headers()).status_code == 200
            assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200


def test_failed_logins_count_across_nodes(trio: list[Node]) -> None:
    clients = [node.client() for node in trio]
    try:
        name, password = register(clients[0])
        for attempt in range(10):
            response = clients[attempt % 3].post("/api/session", json={"username": name, "password": "wrong one"})
            assert_problem(response, 401, "invalid_credentials")
        for client in clients:
            assert_problem(client.post("/api/session", json={"username": name, "password": password}), 429)
    finally:
        for client in clients:
            client.close()


def test_store_outage_answers_503_and_recovers(
    nodes: Nodes, tmp_path: Path, make_redis_server: Callable[..., RedisServer], postgres_url: str
) -> None:
    redis = make_redis_server(appendonly=True)
    node = nodes("--store", redis.url, "--database-url", postgres_url, "--outage", "grace",
                 data_dir=tmp_path / "outage", env=SHARED_SECRET)
    with node.client() as client:
        name, password = register(client)
        session, pair = login(client, name), tokens(client, name)
        revoked = tokens(client, name)
        assert client.post("/api/token/revoke", headers=bearer(revoked["access_token"])).status_code == 204
        redis.stop()
        # What the node read less than a revocation bound ago may still answer; after that, the store must.
        wait_until(lambda: client.get("/api/me", headers=session.headers()).status_code == 503, 1.5)
        started = time.monotonic()
        down = client.get("/api/me", headers=session.headers())
        assert time.monotonic() - started < 5
        assert_problem(down, 503, "store_unavailable")
        assert int(down.headers["retry-after"]) > 0
        assert_problem(client.post("/api/session", json={"username": name, "password": password}), 503)
        assert_problem(client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}), 503)
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200  # grace
        assert_problem(client.get("/api/me", headers=bearer(revoked["access_token"])), 401)  # known revoked
        for _ in range(20):
            assert client.get("/api/me", headers=session.headers()).status_code != 500
        redis.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, 10)
        wait_until(lambda: client.get("/api/me", headers=session.headers()).status_code == 200, 10)
        assert client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 200
        assert login(client, name, password)


def test_outage_closed_refuses_tokens(
    nodes: Nodes, tmp_path: Path, make_redis_server: Callable[..., RedisServer], postgres_url: str
) -> None:
    redis = make_redis_server(appendonly=True)
    node = nodes("--store", redis.url, "--database-url", postgres_url, "--outage", "closed",
                 data_dir=tmp_path / "closed", env=SHARED_SECRET)
    with node.client() as client:
        pair = tokens(client, register(client)[0])
        redis.stop()
        wait_until(lambda: client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 503, 1.5)
        assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 503, "store_unavailable")


# -- Redis Cluster -----------------------------------------------------------------------


@pytest.fixture
def cluster_nodes(nodes: Nodes, tmp_path: Path, redis_cluster: RedisClusterServers, postgres_url: str) -> list[Node]:
    redis_cluster.wait_healthy()
    return [nodes("--store", redis_cluster.url, "--database-url", postgres_url, data_dir=tmp_path / "cluster",
                  env=SHARED_SECRET) for _ in range(2)]


def test_cluster_store_serves_every_node(cluster_nodes: list[Node]) -> None:
    one, two = (node.client() for node in cluster_nodes)
    with one, two:
        name, _ = register(one)
        session, pair = login(one, name), tokens(two, name)
        assert two.get("/api/me", headers=session.headers()).status_code == 200
        listed = one.get("/api/sessions", headers=bearer(pair["access_token"])).json()
        assert {entry["kind"] for entry in listed} == {"cookie", "token"}
        assert two.delete("/api/sessions?include_current=true", headers=session.headers()).status_code == 204
        wait_until(lambda: one.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401, 1.0)


def test_master_failover_loses_no_acknowledged_login(
    cluster_nodes: list[Node], redis_cluster: RedisClusterServers
) -> None:
    # Four clients, two on each node, log in while the master of the login index's slot dies: every
    # answer is 200 or 503 (never a 500), and every login answered 200 survives on the other node.
    killed: list[RedisServer] = []

    def fail_over() -> None:
        killed.append(redis_cluster.kill_master_for("pg:{x}:ix"))
        redis_cluster.wait_failover(killed[0])

    try:
        _logins_survive(cluster_nodes, fail_over)
    finally:
        if killed:
            redis_cluster.revive(killed[0])


def test_sentinel_failover_loses_no_acknowledged_login(
    nodes: Nodes, tmp_path: Path, redis_sentinels: RedisSentinels, postgres_url: str
) -> None:
    """redis+sentinel://: the sentinels promote the replica when the master dies, and the nodes follow."""
    pair = [nodes("--store", redis_sentinels.url, "--database-url", postgres_url, data_dir=tmp_path / "sentinel",
                  env=SHARED_SECRET) for _ in range(2)]
    _logins_survive(pair, redis_sentinels.fail_over)


def _logins_survive(nodes: list[Node], fail_over: Callable[[], object]) -> None:
    """Four clients, two on each node, log in while ``fail_over`` runs: every answer is 200 or 503
    (never a 500), and every login answered 200 still works on the second node afterwards."""
    one, two = nodes
    with one.client() as client:
        names = [register(client)[0] for _ in range(6)]
    acknowledged: list[tuple[str, dict[str, str]]] = []
    counts = [Counter[int]() for _ in range(4)]  # one per client: no counter is shared between threads
    unexpected: list[str] = []
    stop = threading.Event()

    def stream(node: Node, offset: int) -> None:
        statuses = counts[offset]
        with node.client() as client:
            i = offset
            while not stop.is_set():
                name = names[i % len(names)]
                i += 1
                try:
                    response = client.post("/api/session", json={"username": name, "password": "correct horse"})
                except httpx.HTTPError as exc:
                    statuses[0] += 1
                    unexpected.append(f"{type(exc).__name__}: {exc}")
                    continue
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    cookie = response.headers["set-cookie"].split(";", 1)[0]
                    acknowledged.append((name, {"Cookie": cookie}))
                elif response.status_code != 503:
                    unexpected.append(f"{response.status_code} {response.text}")

    threads = [threading.Thread(target=stream, args=(node, i)) for i, node in enumerate((one, two, one, two))]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    fail_over()
    time.sleep(2.0)
    stop.set()
    for thread in threads:
        thread.join(30)
    statuses = sum(counts, Counter[int]())
    with two.client() as client:
        lost = [name for name, headers in acknowledged if client.get("/api/me", headers=headers).status_code != 200]
    print(f"answers by status: {dict(sorted(statuses.items()))}, lost: {len(lost)}")
    errors = [line for node in nodes for line in node.log().splitlines() if "unexpected" in line]
    assert not unexpected, (unexpected[:5], errors[:10])
    assert acknowledged and not lost


# -- nginx in front ------------------------------------------------------------------------


def _self_signed(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    directory.mkdir()
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@pytest.fixture
def nginx(
    nodes: Nodes, tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> Iterator[tuple[str, list[Node]]]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "tmp").mkdir()
    deploy = Path(__file__).parents[2] / "deploy"
    http_port, https_port = free_port(), free_port()
    url = f"https://localhost:{https_port}"
    redis_server.call("FLUSHALL")  # no login limits left over from other tests
    trio = [nodes("--store", redis_server.url, "--database-url", postgres_url, "--public-url", url,
                  data_dir=tmp_path / "shared", env=SHARED_SECRET) for _ in range(3)]
    conf = (deploy / "nginx.conf").read_text()
    for i, node in enumerate(trio, start=1):
        conf = conf.replace(f"127.0.0.1:800{i} ", f"127.0.0.1:{node.port} ")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{http_port};").replace(":8443", f":{https_port}")
    conf = conf.replace("listen 8443 ssl", f"listen 127.0.0.1:{https_port} ssl").replace("worker_processes auto;",
                                                                                          "worker_processes 1;")
    (prefix / "nginx.conf").write_text(conf)
    shutil.copy(deploy / "proxy_params.conf", prefix / "proxy_params.conf")
    _self_signed(prefix / "tls")
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _up(url), 10)
        yield url, trio
    finally:
        proc.terminate()
        proc.wait(10)


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", verify=False, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_through_nginx(nginx: tuple[str, list[Node]]) -> None:
    url, trio = nginx
    with httpx.Client(base_url=url, verify=False, timeout=10) as client:
        assert "strict-transport-security" in client.get("/").headers
        name = new_name()
        assert client.post("/api/users", json={"username": name, "password": "correct horse"}).status_code == 201
        response = client.post("/api/session", json={"username": name, "password": "correct horse"})
        assert response.status_code == 200
        assert "__Host-passgate" in client.cookies
        csrf = response.json()["csrf_token"]
        for _ in range(6):  # least_conn spreads these over the nodes
            assert client.get("/api/me").status_code == 200
        post = client.post("/api/posts", json={"title": "through nginx"}, headers={"X-CSRF-Token": csrf, "Origin": url})
        assert post.status_code == 201, post.text
        foreign = client.post("/api/posts", json={"title": "x"}, headers={"X-CSRF-Token": csrf, "Origin": "https://evil"})
        assert_problem(foreign, 403, "csrf_failed")
        trio[1].kill()
        for _ in range(6):
            assert client.get("/api/me").status_code == 200
        assert client.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert client.get("/api/me").status_code == 401
