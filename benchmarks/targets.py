"""The issue's speed and size targets, each judged from one run's results."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.results import Results

CEILING_SHARE = {"memory": 0.90, "sqlite": 0.90, "redis": 0.85}
BEARER_SHARE = 0.90
#: One proof verification per request is the floor (the issue's target for DPoP).
DPOP_SHARE = 0.50
PEER_FACTOR = 5.0
LAG_P99_MS = 50.0
LOGIN_SHARE = 0.90
STORM_P99_FACTOR = 2.0
TOKEN_BYTES = 300
REDIS_RECORD_BYTES = 300
SCALE_P99_GROWTH = 0.10

PEER_OF = {"cookie": "peer.redis", "bearer": "peer.jwt"}


@dataclass(frozen=True)
class Verdict:
    """A figure beside its target; ``met`` is None when the figure could not be measured."""

    name: str
    measured: str
    target: str
    met: bool | None

    @property
    def mark(self) -> str:
        return {True: "✅ met", False: "❌ missed", None: "— not measured"}[self.met]

    @property
    def cell(self) -> str:
        return f"{self.measured} (target {self.target}) {self.mark}" if self.met is not None else self.mark


def _rps(results: Results, entry_id: str) -> float | None:
    found = results.measurement(entry_id)
    return found.rps if found else None


def _p99(results: Results, entry_id: str) -> float | None:
    found = results.measurement(entry_id)
    return found.p99_ms if found else None


def _label(results: Results, entry_id: str) -> str:
    entry = results.entries.get(entry_id)
    return entry.label if entry is not None else entry_id


def ceiling_of(results: Results, entry_id: str) -> str:
    """The ceiling an entry is judged against: the one measured on its own server, else the first."""
    entry = results.entries.get(entry_id)
    return entry.ceiling if entry is not None and entry.ceiling else "ceiling"


def cost_ratio(results: Results, cheap: str, dear: str) -> float | None:
    """``cheap``'s server CPU per request over ``dear``'s: what the req/s ratio would be if both
    servers had had their core to themselves (the steadier figure on a shared machine)."""
    a, b = results.measurement(cheap), results.measurement(dear)
    if a is None or b is None or not a.cpu_us_per_request or not b.cpu_us_per_request:
        return None
    return a.cpu_us_per_request / b.cpu_us_per_request


def share_of_ceiling(results: Results, entry_id: str) -> float | None:
    """req/s over the ceiling's: the median of each alternating pair's ratio where the runs were
    paired, so that drift in the machine's speed cancels; else the ratio of the medians."""
    mine, ceiling = results.measurement(entry_id), results.measurement(ceiling_of(results, entry_id))
    if mine is None or ceiling is None or not ceiling.rps:
        return None
    if len(mine.runs) == len(ceiling.runs) > 1 and all(ceiling.runs):
        return statistics.median(m / c for m, c in zip(mine.runs, ceiling.runs, strict=True))
    return mine.rps / ceiling.rps


def ceiling_share(results: Results, entry_id: str, share: float) -> Verdict:
    found = share_of_ceiling(results, entry_id)
    name = f"{_label(results, entry_id)} ≥ {share:.0%} of the ceiling"
    if found is None:
        return Verdict(name, "", f"≥ {share:.0%}", None)
    by_cost = cost_ratio(results, ceiling_of(results, entry_id), entry_id)
    measured = f"{found:.1%}" + (f" (by CPU cost {by_cost:.1%})" if by_cost else "")
    return Verdict(name, measured, f"≥ {share:.0%}", found >= share)


def peer_factor(results: Results, entry_id: str, kind: str) -> Verdict:
    mine, theirs = _rps(results, entry_id), _rps(results, PEER_OF[kind])
    name = f"{_label(results, entry_id)} ≥ {PEER_FACTOR:g}× fastapi-users"
    if mine is None or not theirs:
        return Verdict(name, "", f"≥ {PEER_FACTOR:g}×", None)
    by_cost = cost_ratio(results, PEER_OF[kind], entry_id)
    measured = f"{mine / theirs:.1f}×" + (f" (by CPU cost {by_cost:.1f}×)" if by_cost else "")
    return Verdict(name, measured, f"≥ {PEER_FACTOR:g}×", mine / theirs >= PEER_FACTOR)


def relative_p99(results: Results, entry_id: str) -> float | None:
    """p99 over the p99 of /healthz in the runs alternating with it (median of the pairs): the
    scenario's tail in units of its own server's, which drift in the machine's speed leaves alone."""
    mine, ceiling = results.measurement(entry_id), results.measurement(ceiling_of(results, entry_id))
    if mine is None or ceiling is None or entry_id == ceiling_of(results, entry_id):
        return None
    if len(mine.p99_runs) != len(ceiling.p99_runs) or not mine.p99_runs or not all(ceiling.p99_runs):
        return None
    return statistics.median(m / c for m, c in zip(mine.p99_runs, ceiling.p99_runs, strict=True))


def scale_growth(results: Results, base_id: str, entry_id: str) -> Verdict:
    """p99 at many logins against p99 at few: each relative to its own alternating ceiling's p99
    when both were paired (the two are measured minutes apart), else raw."""
    base, mine = _p99(results, base_id), _p99(results, entry_id)
    name = f"{_label(results, entry_id)}: p99 within {SCALE_P99_GROWTH:.0%} of the baseline's"
    if base is None or mine is None:
        return Verdict(name, "", f"≤ +{SCALE_P99_GROWTH:.0%}", None)
    base_rel, mine_rel = relative_p99(results, base_id), relative_p99(results, entry_id)
    raw = f"{mine:.2f} ms vs {base:.2f} ms"
    if base_rel and mine_rel:
        growth = mine_rel / base_rel - 1
        measured = f"{growth:+.1%} (p99 ÷ its /healthz p99: {mine_rel:.2f} vs {base_rel:.2f}; raw {raw})"
    else:
        growth = mine / base - 1
        measured = f"{growth:+.1%} ({raw}{_spread(results, base_id, entry_id)})"
    return Verdict(name, measured, f"≤ +{SCALE_P99_GROWTH:.0%}", growth <= SCALE_P99_GROWTH)


def _spread(results: Results, base_id: str, entry_id: str) -> str:
    """Each run's own p99, so the reader sees the noise the comparison sits in."""
    runs = []
    for one in (base_id, entry_id):
        found = results.measurement(one)
        if found is not None and len(found.p99_runs) > 1:
            runs.append("/".join(f"{x:.1f}" for x in found.p99_runs))
    return f"; each run's p99: {runs[0]} ms before, {runs[1]} ms now" if len(runs) == 2 else ""


def login_rate(results: Results, entry_id: str, cores_key: str, hash_key: str) -> Verdict:
    rate, figures = _rps(results, entry_id), results.figures
    cores, seconds = figures.get(cores_key), figures.get(hash_key)
    name = "login throughput ≥ 90% of (cores ÷ one argon2id hash time)"
    if rate is None or not cores or not seconds:
        return Verdict(name, "", f"≥ {LOGIN_SHARE:.0%}", None)
    bound = cores / seconds
    return Verdict(name, f"{rate:.2f}/s = {rate / bound:.1%} of {cores} ÷ {seconds * 1000:.0f} ms = {bound:.2f}/s",
                   f"≥ {LOGIN_SHARE:.0%}", rate / bound >= LOGIN_SHARE)


def storm_p99(results: Results) -> Verdict:
    alone, storm = _p99(results, "me.probe"), _p99(results, "me.probe.storm")
    name = "/api/me p99 during the login storm ≤ 2× without"
    if alone is None or storm is None:
        return Verdict(name, "", f"≤ {STORM_P99_FACTOR:g}×", None)
    return Verdict(name, f"{storm / alone:.1f}× ({storm:.2f} ms vs {alone:.2f} ms)", f"≤ {STORM_P99_FACTOR:g}×",
                   storm / alone <= STORM_P99_FACTOR)


def below(name: str, value: float | None, limit: float, unit: str) -> Verdict:
    if value is None:
        return Verdict(name, "", f"< {limit:g} {unit}", None)
    shown = f"{value:.2f}" if isinstance(value, float) else f"{value}"
    return Verdict(name, f"{shown} {unit}", f"< {limit:g} {unit}", value < limit)


def token_sizes(results: Results) -> list[Verdict]:
    found: dict[str, Any] = results.figures.get("token_bytes", {})
    return [below(f"access token ({alg}) < {TOKEN_BYTES} bytes", found.get(alg, {}).get("total"), TOKEN_BYTES,
                  "bytes") for alg in ("EdDSA", "ES256", "HS256")]


def redis_record(results: Results) -> list[Verdict]:
    found: dict[str, Any] = results.figures.get("record_bytes", {}).get("redis", {})
    return [below(f"a {kind} login record in Redis (MEMORY USAGE) < {REDIS_RECORD_BYTES} bytes",
                  found.get(kind, {}).get("memory_usage"), REDIS_RECORD_BYTES, "bytes") for kind in ("cookie", "token")]


def revocation(results: Results) -> Verdict:
    found = results.figures.get("revocation") or {}
    return below(f"revocation lag p99 < {LAG_P99_MS:g} ms", found.get("p99_ms"), LAG_P99_MS, "ms")


def main_rows(results: Results) -> list[tuple[str, str, float | None]]:
    """The ``/api/me`` rows of the main table: (entry id, kind, share of the ceiling it must reach)."""
    base = results.context.get("settings", {}).get("login_counts", [1000])[0]
    rows: list[tuple[str, str, float | None]] = [("ceiling", "", None)]
    rows += [("me.cookie.memory", "cookie", CEILING_SHARE["memory"])]
    rows += [(f"me.cookie.{s}@{base}", "cookie", CEILING_SHARE[s]) for s in ("sqlite", "redis")]
    rows += [(f"me.bearer.{alg}", "bearer", BEARER_SHARE) for alg in ("EdDSA", "ES256", "HS256")]
    rows += [(f"me.bearer.{s}@{base}", "bearer", BEARER_SHARE) for s in ("sqlite", "redis")]
    rows += [("me.dpop.ES256", "dpop", DPOP_SHARE)]
    return rows


def all_verdicts(results: Results) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for entry_id, kind, share in main_rows(results):
        if share is not None:
            verdicts.append(ceiling_share(results, entry_id, share))
        if share is not None and kind in PEER_OF:
            verdicts.append(peer_factor(results, entry_id, kind))
    counts = results.context.get("settings", {}).get("login_counts", [1000])
    measured = [c for c in counts if any(e.startswith("me.") and e.endswith(f"@{c}") for e in results.entries)]
    if len(measured) > 1:
        verdicts += [scale_growth(results, f"me.{k}.{s}@{measured[0]}", f"me.{k}.{s}@{measured[-1]}")
                     for s in ("sqlite", "redis") for k in ("cookie", "bearer")]
    verdicts += [login_rate(results, "login", "login_server_cores", "hash_seconds_core0"), storm_p99(results)]
    verdicts += [revocation(results), *token_sizes(results), *redis_record(results), *library(results)]
    return verdicts



# -- the library phase: passgate inside the user's own app ------------------------------------------


@dataclass(frozen=True)
class Share:
    """A row's req/s over its baseline's: the median of the per-round ratios and their spread, and the
    same ratio by server CPU per request (the steadier figure on a shared machine)."""

    median: float
    low: float
    high: float
    by_cpu: float | None

    @property
    def text(self) -> str:
        cpu = f"; by CPU cost {self.by_cpu:.1%}" if self.by_cpu else ""
        return f"{self.median:.1%} (rounds {self.low:.0%}–{self.high:.0%}{cpu})"


def library_cases(results: Results) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = results.figures.get("library", {}).get("cases", [])
    return cases


def library_share(results: Results, entry_id: str, baseline: str) -> Share | None:
    mine, base = results.measurement(entry_id), results.measurement(baseline)
    if mine is None or base is None or len(mine.runs) != len(base.runs) or not all(base.runs):
        return None
    ratios = [m / b for m, b in zip(mine.runs, base.runs, strict=True)]
    return Share(statistics.median(ratios), min(ratios), max(ratios), cost_ratio(results, baseline, entry_id))


def library(results: Results) -> list[Verdict]:
    """Each judged row of the library phase: its share of its baseline against the issue's target."""
    verdicts = []
    for case in library_cases(results):
        if case["target"] is None:
            continue
        share = library_share(results, case["id"], case["baseline"])
        name = f"{case['label']} ≥ {case['target']:.0%} of {_label(results, case['baseline'])}"
        target = f"≥ {case['target']:.0%}"
        verdicts.append(Verdict(name, share.text, target, share.median >= case["target"]) if share
                        else Verdict(name, "", target, None))
    return verdicts
