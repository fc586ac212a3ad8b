"""A smoke test of the benchmark lab: every scenario runs for about a second and yields figures.

Nothing here judges speed (no timed assertion): only that each scenario produced numbers, that
the targets could be judged, and that the table renders.  ``make bench`` is the real run.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks import report, targets
from benchmarks.results import Results

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.bench, pytest.mark.e2e]

#: Every wrk scenario the lab runs with its smoke plan (logins 200, 400 and 800).
SCENARIOS = [
    "ceiling", "me.cookie.memory", "me.bearer.EdDSA", "me.bearer.ES256", "me.bearer.HS256",
    *[f"me.{kind}.{store}@{count}" for store in ("sqlite", "redis") for kind in ("cookie", "bearer")
      for count in (200, 400, 800)],
    "login", "login.all_cores", "login.storm", "me.probe", "me.probe.storm",
    "peer.ceiling", "peer.jwt", "peer.redis",
    # /healthz in the runs alternating with each /api/me judged against the ceiling
    *[f"ceiling~me.{s}" for s in ("cookie.memory", "bearer.EdDSA", "bearer.ES256", "bearer.HS256")],
    *[f"ceiling~me.{kind}.{store}@200" for store in ("sqlite", "redis") for kind in ("cookie", "bearer")],
    # passgate inside the user's own app, and each row's baseline
    "lib.plain", "lib.dep", "lib.installed.plain", "lib.dep.bearer", "lib.dep.cookie",
    *[f"lib.{route}.bearer" for route in ("hello", "maybe")],
    *[f"lib.{route}.cookie.{store}" for route in ("hello", "maybe") for store in ("sqlite", "memory", "redis")],
    *[f"lib.starlette{part}.{kind}" for part in ("", ".passgate") for kind in ("bearer", "cookie")],
    # sessions vs tokens: /api/me with a cookie and with tokens of each size passgate accepts
    "tradeoff.cookie", *[f"tradeoff.bearer+{extra}" for extra in (0, 1024, 2048)],
]


def _ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-servers.sh")], check=False)
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed and could not be installed with apt-get", pytrace=False)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, str, str]:
    _ensure_wrk()
    out = tmp_path_factory.mktemp("lab")
    done = subprocess.run([sys.executable, "-m", "benchmarks.lab", "--smoke", "--no-chart", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    return Results.load(out / "results.json"), (out / "results.md").read_text(), log


def test_every_scenario_produced_figures(smoke: tuple[Results, str, str]) -> None:
    results, _, log = smoke
    missing = [s for s in SCENARIOS if results.measurement(s) is None]
    assert not missing, f"no figures for {missing}: {[results.entries.get(s) for s in missing]}\n{log[-3000:]}"
    for scenario in SCENARIOS:
        found = results.measurement(scenario)
        assert found is not None and found.requests > 0 and found.errors == 0
        assert math.isfinite(found.p99_ms) and found.p99_ms >= found.p50_ms > 0


def test_sizes_and_revocation_were_measured(smoke: tuple[Results, str, str]) -> None:
    figures = smoke[0].figures
    assert set(figures["token_bytes"]) == {"EdDSA", "ES256", "HS256"}
    assert all(t["total"] > 100 for t in figures["token_bytes"].values())
    for store in ("sqlite", "redis"):
        assert {"cookie", "token"} <= set(figures["record_bytes"][store])
    assert figures["record_bytes"]["redis"]["cookie"]["memory_usage"] > 0
    assert figures["memory_store_bytes_per_login"] > 0
    assert [step["count"] for step in figures["seeding"]] == [200, 400, 800]
    lag = figures["revocation"]
    assert lag["logouts"] == 10 and lag["gave_up"] == 0 and lag["node_a_refused_at_once"] == 10
    assert math.isfinite(lag["p99_ms"])
    assert figures["hash_seconds_core0"] > 0 and figures["login_server_cores"] == 1
    counted = figures["instructions_per_request"]
    assert all(counted[route] > 10_000 for route in ("healthz", "cookie", "bearer"))
    assert figures["instructions_idle"]["per_second"] > 0
    assert set(lag["by_kind"]) == {"cookie", "token"}


def test_the_tradeoffs_were_measured(smoke: tuple[Results, str, str]) -> None:
    found = smoke[0].figures["tradeoffs"]
    sizes = found["token_size"]
    assert [sizes[f"bearer+{n}"]["status"] for n in (0, 1024, 2048, 4096)] == [200, 200, 200, 401]
    assert sizes["bearer+0"]["request_bytes"] < sizes["bearer+1024"]["request_bytes"] < sizes["bearer+2048"][
        "request_bytes"]
    ops = found["store_operations"]["per"]
    assert sum(ops["cookie logout (DELETE /api/session)"].values()) > 0  # the store was counted
    assert ops["GET /api/me, cookie, first on another node"]  # another node reads what it has not seen
    for mode, want in (("grace", 200), ("closed", 503)):
        during = found["outage"][mode]["during"]
        assert during["GET /api/me, bearer"]["status"] == want
        assert during["GET /api/me, cookie"]["code"] == "store_unavailable"
        assert found["outage"][mode]["cookie_recovered_s"] is not None
    assert found["token_cache_bytes"] > 0


def test_the_comparison_document_renders(smoke: tuple[Results, str, str], tmp_path: Path) -> None:
    from benchmarks import comparison

    page = comparison.write(smoke[0], tmp_path, chart=False).read_text()
    assert page.startswith("# Sessions and tokens, measured")
    for section in ("Server state per login", "bigger token", "Logout", "asks of the store", "outage",
                    "Cross-origin", "What was not measured"):
        assert f"## {section}" in page or section in page
    assert "Not measured in this run" not in page  # every measured section had its figures


def test_every_target_is_judged_and_the_table_renders(smoke: tuple[Results, str, str]) -> None:
    results, page, _ = smoke
    verdicts = targets.all_verdicts(results)
    assert verdicts and all(v.met is not None for v in verdicts), [v.name for v in verdicts if v.met is None]
    assert page.startswith("# passgate benchmarks")
    assert "| ceiling: GET /healthz |" in page and "fastapi-users: GET /users/me, JWT/bearer" in page
    assert page.count("✅ met") + page.count("❌ missed") >= len(verdicts)
    assert "## passgate inside the user's own app" in page and "| GET /plain, app without passgate |" in page
    assert report.render(results, chart="chart.png") == page.replace(
        "(No chart: matplotlib was not installed.)", "![requests per second and p99 latency](chart.png)")
    for machine_fact in ("cores", "python", "passgate", "wrk", "redis"):
        assert machine_fact in page


def test_the_chart_draws(smoke: tuple[Results, str, str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="make bench installs matplotlib; the dev extras do not")
    from benchmarks import chart

    chart.draw(smoke[0], tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
