"""``docs/sessions-vs-tokens.md``: the seed's comparison of sessions and tokens, from one lab run's
``results.json`` (``make bench`` writes it; ``python -m benchmarks.lab --render`` writes it again).

Every figure comes from the run; a trade-off the run did not measure says so.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.results import Results

DASH = "—"
NOT_RUN = "Not measured in this run (the phase did not run or failed; see the notes of `benchmarks/results.md`)."


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _n(value: float | None, digits: int = 0) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def state_section(results: Results) -> str:
    f = results.figures
    records: dict[str, Any] = f.get("record_bytes", {})
    seeding = [s for s in f.get("seeding", []) if s.get("redis_used_memory_added")]
    per_100k = (sum(s["redis_used_memory_added"] for s in seeding) / sum(s["added"] for s in seeding) * 100_000
                if seeding else None)
    sqlite = [s for s in f.get("seeding", []) if s.get("sqlite_bytes_added")]
    sqlite_per = sum(s["sqlite_bytes_added"] for s in sqlite) / sum(s["added"] for s in sqlite) if sqlite else None
    redis = records.get("redis", {})
    token_cache = f.get("tradeoffs", {}).get("token_cache_bytes")
    same = f"{per_100k / 1e6:.1f} MB" if per_100k else DASH
    rows = [
        ["a login record as encoded", *_kinds(records.get("sqlite", {}), "value")],
        ["memory store: Python heap per login", _n(f.get("memory_store_bytes_per_login")), "the same"],
        ["SQLite store: file growth per login (row, key index, index-set row)", _n(sqlite_per), "the same"],
        ["Redis: MEMORY USAGE of the login's key", *_kinds(redis, "memory_usage")],
        ["Redis: used_memory per 100,000 logins (half of each kind)", same, same],
        ["each node's memory per credential it has verified", "its login-cache entry only",
         f"{_n(token_cache)} (the verified-token cache entry) + the login-cache entry" if token_cache else DASH],
    ]
    return (
        "In passgate both kinds of credential name one server-side **login record**: a token login keeps one "
        "too (its refresh token and its revocation need it), so the store holds the same bytes per login in both "
        "modes. What a token saves is the read: a node verifies its signature and needs the record only to learn "
        "of a revocation, which the store's change feed tells it. A bare JWT with no record would keep nothing, "
        "and could not be revoked before it expires.\n\n"
        + _table(["bytes per login", "cookie session", "token login"], rows)
    )


def _kinds(found: dict[str, Any], field: str) -> list[str]:
    return [_n(found.get(kind, {}).get(field)) for kind in ("cookie", "token")]


def size_section(results: Results) -> str:
    found: dict[str, Any] = results.figures.get("tradeoffs", {}).get("token_size", {})
    if not found:
        return NOT_RUN
    base = results.measurement(found.get("bearer+0", {}).get("entry", ""))
    rows = []
    for name, row in found.items():
        m = results.measurement(row.get("entry", "")) if row.get("entry") else None
        share = DASH
        if m is not None and base is not None and len(m.runs) == len(base.runs):
            ratios = [a / b for a, b in zip(m.runs, base.runs, strict=True)]
            share = f"{statistics.median(ratios):.0%} ({min(ratios):.0%}–{max(ratios):.0%})"
        label = "session cookie" if name == "cookie" else f"bearer, {int(name.split('+')[1]):,} bytes of extra claims"
        outcome = _n(m.rps) if m else f"refused: {row['status']} (passgate accepts tokens up to 4,096 bytes)"
        rows.append([label, f"{row['credential_bytes']:,}", f"{row['request_bytes']:,}", outcome, share,
                     _n(m.cpu_us_per_request if m else None)])
    return (
        "`GET /api/me` on one `passgate serve` (memory store), the rows in alternating rounds. The bigger tokens "
        "come from a lab-only issuer (`benchmarks/tradeoffs.py`): the deployment's key, exported with `passgate "
        "keys export`, signs a real token's claims plus one string claim. passgate itself never issues them. "
        "Each node verifies a token's signature once and then finds its `Authorization` value, exactly as sent, "
        "in its cache, so what a bigger token costs every request is its bytes: read, parsed and hashed.\n\n"
        + _table(["credential", "credential bytes", "request head bytes", "req/s", "share of the default token's "
                  "(rounds' range)", "server CPU µs/req"], rows)
    )


def lag_section(results: Results) -> str:
    found: dict[str, Any] = results.figures.get("revocation") or {}
    kinds: dict[str, Any] = found.get("by_kind") or {}
    if not kinds:
        return NOT_RUN
    rows = [[kind, _n(v["p50_ms"], 2), _n(v["p99_ms"], 2), _n(v["max_ms"], 2), str(v["gave_up"])]
            for kind, v in kinds.items()]
    return (
        f"{found['logouts']:,} logouts on node A of {found['nodes']} nodes on {found['store']}, alternating cookie "
        "and token; the lag runs from A's 2xx answer until nodes B and C, which had the login in their caches, "
        "both refuse it. A bare JWT stays valid until its `exp` (`--access-ttl`, 10 minutes by default); a passgate "
        "token names its login, and the store's change feed tells every node of the revocation.\n\n"
        + _table(["revoked", "p50 ms", "p99 ms", "max ms", "never refused (3 s)"], rows)
        + f"\n\nNode A refused the credential at once after {found['node_a_refused_at_once']:,} of "
        f"{found['logouts']:,} logouts."
    )


def operations_section(results: Results) -> str:
    found: dict[str, Any] = results.figures.get("tradeoffs", {}).get("store_operations", {})
    if not found:
        return NOT_RUN
    rows = [[action, ", ".join(f"{k} {v:g}" for k, v in ops.items()) or "none", f"{sum(ops.values()):g}"]
            for action, ops in found["per"].items()]
    return (
        "Two nodes on one Redis; the commands each action sent, as Redis counted them (`INFO commandstats` "
        f"before and after; a `GET /api/me` row is repeated {found['requests']:,} times and divided). Any node "
        "serves any login: the second node had never seen either login before its first request. `hello` and "
        "`select` open a connection, and `ping` is a connection's health check every few seconds: counted as "
        "they fell.\n\n"
        + _table(["action", "Redis commands per action", "total"], rows)
    )


def outage_section(results: Results) -> str:
    found: dict[str, Any] = results.figures.get("tradeoffs", {}).get("outage", {})
    if not found:
        return NOT_RUN
    rows = []
    for mode, figures in found.items():
        for action, answer in figures["during"].items():
            code = f" `{answer['code']}`" if answer["code"] else ""
            rows.append([f"`--outage {mode}`", action, f"{answer['status']}{code}", f"{answer['seconds']:.2f} s"])
        back = figures["cookie_recovered_s"]
        rows.append([f"`--outage {mode}`", "cookie again, after the store is back",
                     "200" if back is not None else "not within 15 s", f"{back:.2f} s" if back is not None else DASH])
    return (
        "One node on a private redis-server that the lab freezes (SIGSTOP: its connections hang, as when its host "
        "goes away) after the node has served each credential once, and thaws (SIGCONT) after the three requests. "
        "A cookie needs its login record, so it waits for the store; a token is vouched for by its signature "
        "under `--outage grace`, unless this node saw it revoked.\n\n"
        + _table(["mode", "request while the store is away", "answer", "time to answer"], rows)
    )


CROSS_ORIGIN = (
    "Not timed: it is a property, shown by a real browser. `tests/browser/test_spa.py` runs the single-page app of "
    "`examples/spa` on another origin in headless Chromium: it logs in, posts and revokes with DPoP-bound tokens "
    "(`test_the_spa_logs_in_posts_and_revokes_across_origins`), and the session cookie is no use to it across "
    "origins (`test_the_session_cookie_is_no_use_across_origins`: `SameSite=Lax`, no credentialed CORS)."
)

NOT_MEASURED = [
    "the size of a revocation list a deployment of bare JWTs would need (passgate keeps none: a revoked login's "
    "record is deleted and each node forgets it through the change feed)",
    "the two nodes behind nginx of the cluster recipe: the store operations above use two nodes on one Redis "
    "directly; `tests/e2e/test_cluster.py` covers nginx and failover",
    "the outage on SQLite or a Redis Cluster, and the time a node takes to notice a store that is away "
    "(each answer above includes the client's timeouts)",
    "a token verified for the first time by a node (its signature check): every row cycles tokens a node has "
    "already cached, as a client sending one token many times does",
]


def render(results: Results) -> str:
    c = results.context
    sections = [
        "# Sessions and tokens, measured",
        f"Generated by `make bench` (`benchmarks/comparison.py`) from the run of {c.get('started_at', '?')} "
        "(`benchmarks/results.json`); do not edit. The machine, versions and settings are those of "
        "[`benchmarks/results.md`](../benchmarks/results.md). A chart sits beside a table where it reads faster.",
        "## Server state per login", state_section(results),
        "## What a bigger token costs every request", size_section(results), _picture(results, "size"),
        "## Logout: how long a revoked credential still works on another node", lag_section(results),
        "## What each mode asks of the store", operations_section(results),
        "## The store outage", outage_section(results),
        "## Cross-origin use", CROSS_ORIGIN,
        "## What was not measured", "\n".join(f"- {line}" for line in NOT_MEASURED),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _picture(results: Results, name: str) -> str:
    return f"![{name}](sessions-vs-tokens-{name}.png)" if results.figures.get("tradeoffs", {}).get("chart") else ""


def draw(results: Results, directory: Path) -> bool:
    """The token-size chart (req/s and request bytes per credential); False when there is nothing to draw."""
    found: dict[str, Any] = results.figures.get("tradeoffs", {}).get("token_size", {})
    measured = []
    for name, row in found.items():
        m = results.measurement(row.get("entry", ""))
        if m is not None:
            measured.append((name, row, m))
    if not measured:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(8, 4))
    labels = ["cookie" if n == "cookie" else f"+{int(n.split('+')[1]):,} B" for n, _, _ in measured]
    left.bar(labels, [m.rps for _, _, m in measured], color="#2e7d32")
    left.set_ylabel("GET /api/me req/s (bars)")
    right = left.twinx()
    right.plot(labels, [row["request_bytes"] for _, row, _ in measured], color="#c62828", marker="o")
    right.set_ylabel("request head bytes (line)")
    right.set_ylim(bottom=0)
    left.set_title("What a bigger token costs every request (one worker, one core)", fontsize=10)
    fig.tight_layout()
    fig.savefig(directory / "sessions-vs-tokens-size.png", dpi=100)
    plt.close(fig)
    return True


def write(results: Results, directory: Path, chart: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if chart and "tradeoffs" in results.figures:
        results.figures["tradeoffs"]["chart"] = draw(results, directory)
    page = directory / "sessions-vs-tokens.md"
    page.write_text(render(results))
    return page
