"""``benchmarks/results.md``: the figures in Markdown tables, each beside its target."""

from __future__ import annotations

from typing import Any

from benchmarks import targets
from benchmarks.results import Results
from benchmarks.targets import Verdict
from benchmarks.wrk import Measurement

DASH = "—"


def _n(value: float | None, digits: int = 0) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def _figures(m: Measurement | None) -> list[str]:
    if m is None:
        return [DASH] * 5
    share = m.server_cpu_share
    return [_n(m.rps, 2 if m.rps < 100 else 0), _n(m.p50_ms, 2), _n(m.p99_ms, 2), _n(m.cpu_us_per_request),
            DASH if share is None else f"{share:.0%}"]


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _row(results: Results, entry_id: str, *cells: str) -> list[str]:
    """The scenario's label and figures, then ``cells``; or why it has no figures."""
    entry = results.entries.get(entry_id)
    padding = [""] * (len(cells) - 1)
    if entry is None:
        return [entry_id, *[DASH] * 5, "not run", *padding]
    if entry.note:
        return [entry.label, *_figures(entry.measurement), entry.note, *padding]
    return [entry.label, *_figures(entry.measurement), *cells]


FIGURE_HEAD = ["scenario", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "server's share of its core"]


def main_table(results: Results) -> str:
    rows = []
    for entry_id, kind, share in targets.main_rows(results):
        if share is None:
            rows.append(_row(results, entry_id, "", "100%", ""))
            continue
        ceiling = results.measurement(targets.ceiling_of(results, entry_id))
        vs_ceiling = targets.ceiling_share(results, entry_id, share)
        vs_peer = (targets.peer_factor(results, entry_id, kind).cell if kind in targets.PEER_OF
                   else "no equivalent (fastapi-users has no DPoP)")
        rows.append(_row(results, entry_id, _n(ceiling.rps if ceiling else None), vs_ceiling.cell, vs_peer))
    return _table([*FIGURE_HEAD, "ceiling alternating with it, req/s", "share of the ceiling",
                   "vs fastapi-users' equivalent"], rows)


def scale_table(results: Results) -> str:
    counts = results.context.get("settings", {}).get("login_counts", [])
    measured = [c for c in counts if any(e.endswith(f"@{c}") for e in results.entries)]
    rows = []
    for store in ("sqlite", "redis"):
        for kind in ("cookie", "bearer"):
            for count in measured:
                entry_id = f"me.{kind}.{store}@{count}"
                if count == measured[0]:
                    rows.append(_row(results, entry_id, "baseline"))
                    continue
                verdict = targets.scale_growth(results, f"me.{kind}.{store}@{measured[0]}", entry_id)
                rows.append(_row(results, entry_id, verdict.cell if count == measured[-1] else
                                 (verdict.measured or DASH) + " (informative)"))
    return _table([*FIGURE_HEAD, "p99 against the baseline"], rows) + "\n\n" + _reads_table(results, measured)


def _reads_table(results: Results, counts: list[int]) -> str:
    """What a cache miss pays: one read of a random login through passgate's store, by count."""
    reads: dict[str, dict[str, float]] = results.figures.get("store_read_us", {})
    if not reads or not counts:
        return ""
    rows = [[f"{STORE_NAMES[store]}: one `store.get` of a random login, mean µs",
             *[_n(reads[store].get(str(c)), 1) for c in counts]] for store in ("sqlite", "redis") if store in reads]
    note = ("The `/api/me` rows above repeat one credential, which each node keeps in its cache; a credential a "
            "node has not seen yet costs it one store read, timed here from the lab (2,000 reads one after another).")
    steps = results.figures.get("seeding", [])
    seeding = "Seeding: " + ", ".join(f"{s['added']:,} logins in {s['seconds']:.1f} s" for s in steps) + "." if steps \
        else ""
    return note + "\n\n" + _table(["store read (cache miss)", *[f"{c:,} logins" for c in counts]], rows) + \
        "\n\n" + seeding


STORE_NAMES = {"sqlite": "SQLite", "redis": "Redis"}


def login_table(results: Results) -> str:
    f = results.figures
    all_cores = targets.login_rate(results, "login.all_cores", "login_all_cores_server_cores", "hash_seconds_core0")
    rows = [
        _row(results, "login", targets.login_rate(results, "login", "login_server_cores", "hash_seconds_core0").cell),
        _row(results, "login.all_cores", f"{all_cores.measured} (informative)" if all_cores.measured else DASH),
        _row(results, "me.probe", "baseline"),
        _row(results, "me.probe.storm", targets.storm_p99(results).cell),
        _row(results, "login.storm", "the storm beside the probe (informative)"),
    ]
    runs = " and ".join(_n(_ms(x)) for x in f.get("hash_seconds_core0_runs", []))
    hash_line = (f"One argon2id verification (t=3, m=64 MiB, p=4, argon2-cffi) takes "
                 f"{_n(_ms(f.get('hash_seconds_core0')))} ms on one core (the mean of {runs or DASH} ms, measured "
                 f"right before and right after the one-core login run, each the median of 5); unpinned it takes "
                 f"{_n(_ms(f.get('hash_seconds_all_cores')))} ms, since argon2-cffi computes the 4 lanes in threads. "
                 "The bound is the server's cores ÷ the one-core time.")
    return _table([*FIGURE_HEAD, "target"], rows) + "\n\n" + hash_line


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def peer_table(results: Results) -> str:
    rows = [_row(results, e, "") for e in ("peer.ceiling", "peer.jwt", "peer.redis")]
    return _table([*FIGURE_HEAD, "note"], rows)


def sizes_section(results: Results) -> str:
    f = results.figures
    tokens: dict[str, Any] = f.get("token_bytes", {})
    rows = []
    for verdict, alg in zip(targets.token_sizes(results), ("EdDSA", "ES256", "HS256"), strict=True):
        t = tokens.get(alg)
        parts = f" = {t['header']} + 1 + {t['claims']} + 1 + {t['signature']}" if t else ""
        rows.append([f"access token, {alg} (header . claims . signature, base64url)",
                     f"{t['total'] if t else DASH}{parts}", verdict.mark if t else DASH])
    records: dict[str, Any] = f.get("record_bytes", {})
    sqlite, redis = records.get("sqlite", {}), records.get("redis", {})
    rows.append(["login record as encoded (cookie / token; the same bytes in every store)",
                 f"{_get(sqlite, 'cookie', 'value')} / {_get(sqlite, 'token', 'value')}", ""])
    rows.append(["memory store: Python heap per login (key, record, expiry, index entry)",
                 _n(f.get("memory_store_bytes_per_login")), ""])
    disk = _per_login(f, "sqlite_bytes_added")
    rows.append(["SQLite store: file growth per login (row, key index, index-set row)", _n(disk), ""])
    for verdict, kind in zip(targets.redis_record(results), ("cookie", "token"), strict=True):
        rows.append([f"Redis: MEMORY USAGE of a {kind} login's key", _get(redis, kind, "memory_usage"),
                     verdict.mark])
    rows.append(["Redis: MEMORY USAGE of a user's index set", _get(redis, "cookie", "index_memory_usage"), ""])
    per_login = _per_login(f, "redis_used_memory_added")
    rows.append(["Redis: used_memory per 100,000 logins (records and index sets)",
                 DASH if per_login is None else f"{per_login * 100_000 / 1e6:,.1f} MB", ""])
    return _table(["what", "bytes", "target"], rows)


def _get(found: dict[str, Any], kind: str, key: str) -> str:
    value = found.get(kind, {}).get(key)
    return DASH if value is None else str(value)


def _per_login(figures: dict[str, Any], key: str) -> float | None:
    """Bytes per login over the largest seeding step that measured ``key``."""
    steps = [s for s in figures.get("seeding", []) if s.get(key)]
    if not steps:
        return None
    step = max(steps, key=lambda s: s["added"])
    return float(step[key]) / float(step["added"])


def revocation_section(results: Results) -> str:
    found = results.figures.get("revocation")
    if not found:
        return "Not measured."
    verdict = targets.revocation(results)
    row = [f"{found['logouts']:,} logouts on node A, {found['nodes']} nodes, {found['store']}",
           _n(found["p50_ms"], 2), _n(found["p99_ms"], 2), _n(found["max_ms"], 2), str(found["gave_up"]),
           f"{found['node_a_refused_at_once']:,} / {found['logouts']:,}", verdict.cell]
    return _table(["scenario", "p50 ms", "p99 ms", "max ms", "never refused (3 s)", "node A refused at once",
                   "target"], [row])


def targets_section(results: Results) -> str:
    verdicts = targets.all_verdicts(results)
    met = sum(v.met is True for v in verdicts)
    judged = sum(v.met is not None for v in verdicts)
    lines = [f"{met} of {judged} targets met ({len(verdicts) - judged} not measured).", ""]
    lines += [f"- {_mark(v)} {v.name}: {v.measured or 'not measured'}" for v in verdicts]
    return "\n".join(lines)


def _mark(verdict: Verdict) -> str:
    return {True: "✅", False: "❌", None: "—"}[verdict.met]


def context_section(results: Results) -> str:
    c = results.context
    machine, versions, settings = c.get("machine", {}), c.get("versions", {}), c.get("settings", {})
    peer = versions.get("peer", {})
    lines = [
        f"- **Machine**: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB, "
        f"Linux {machine.get('kernel')}; cores busy just before the run: {machine.get('busy_before_start', 0):.0%}; "
        f"load average at start {machine.get('load_average_at_start')}, at the end "
        f"{machine.get('load_average_at_end')}.",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "peer") + ".",
    ]
    if peer:
        lines.append("- **Peer** (benchmarks/.peer-venv): " + ", ".join(f"{k} {v}" for k, v in peer.items()) + ".")
    lines += [f"- **{k}**: {v}" for k, v in settings.items()]
    phases = results.figures.get("phase_seconds", {})
    if phases:
        lines.append("- **Time per phase**: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()) + ".")
    return "\n".join(lines)


def instructions_section(results: Results) -> str:
    found = results.figures.get("instructions_per_request")
    if not found:
        return "Not counted in this run (see the notes)."
    base = found["healthz"]
    labels = {"healthz": "GET /healthz (the ceiling)", "cookie": "GET /api/me, cookie, memory store",
              "bearer": "GET /api/me, bearer EdDSA, memory store"}
    rows = [[labels[k], _n(found[k]), f"{base / found[k]:.1%}"] for k in ("healthz", "cookie", "bearer")]
    return (_table(["route", "instructions per request", "the ceiling's share of it"], rows) +
            f"\n\nOne `passgate serve` under `valgrind --tool=callgrind`, {found['requests']} sequential keep-alive "
            "requests per route after a warm-up, counted between two dumps: the whole process (uvicorn, "
            "the framework, passgate), repeatable to the instruction, whatever else the machine does. "
            "A share of 90% here means /api/me executes 11% more instructions than the bare route.")


def library_table(results: Results) -> str:
    """The library phase: each row of the user's app beside its baseline, measured in the same rounds."""
    cases = targets.library_cases(results)
    if not cases:
        return "Not run (`--only library` runs it)."
    rows = []
    for case in cases:
        plain = targets.library_share(results, case["id"], "lib.plain") if case["id"] != "lib.plain" else None
        versus = DASH
        if case["baseline"]:
            share = targets.library_share(results, case["id"], case["baseline"])
            versus = f"{_label(results, case['baseline'])}: {share.text if share else DASH}"
        judged = DASH
        if case["target"] is not None:
            verdict = next((v for v in targets.library(results) if v.name.startswith(case["label"] + " ≥")), None)
            judged = f"{verdict.target} {verdict.mark}" if verdict else DASH
        rows.append(_row(results, case["id"], "100%" if case["id"] == "lib.plain" else
                         (f"{plain.median:.0%}" if plain else DASH), versus, judged))
    figures = results.figures["library"]
    note = (f"{figures['rounds']} rounds; in each, every row gets one {figures['seconds_per_run']} s wrk run, the "
            "order reversed every other round, so a row and its baseline are measured seconds apart. A share is "
            "the median of the per-round ratios (the rounds' lowest and highest beside it) and, after it, the "
            "ratio of server CPU per request. Every app is `uvicorn MODULE:app --loop "
            f"{figures['loop']} --http {figures['http']} --no-access-log`, one worker, all pinned to core 0 (only "
            "the one under load works); bearer rows cycle 16 access tokens, cookie rows 8 session cookies, and "
            "their baselines are sent the same headers.")
    head = [*FIGURE_HEAD, "share of GET /plain without passgate", "share of its baseline", "target"]
    return _table(head, rows) + "\n\n" + note


def _label(results: Results, entry_id: str) -> str:
    entry = results.entries.get(entry_id)
    return entry.label if entry is not None else entry_id


def render(results: Results, *, chart: str | None) -> str:
    c = results.context
    sections = [
        "# passgate benchmarks",
        f"`make bench` on {c.get('started_at', '?')}, {c.get('seconds', 0) / 60:.1f} minutes. "
        "Every figure comes from this one run; each target sits beside the figure it judges.",
        f"![requests per second and p99 latency]({chart})" if chart else "(No chart: matplotlib was not installed.)",
        "## GET /api/me against the ceiling and the peer", main_table(results),
        "## Instructions per request (counted, not timed)", instructions_section(results),
        "## passgate inside the user's own app", library_table(results),
        "## As logins pile up", scale_table(results),
        "## Logins (argon2id) and /api/me beside them", login_table(results),
        "## The peer: fastapi-users, same uvicorn settings, one worker", peer_table(results),
        "## Sizes", sizes_section(results),
        "## Revocation lag", revocation_section(results),
        "## Targets", targets_section(results),
        "## Notes", "\n".join(f"- {n}" for n in results.notes) or "None.",
        "## Machine, versions, settings", context_section(results),
    ]
    return "\n\n".join(sections) + "\n"
