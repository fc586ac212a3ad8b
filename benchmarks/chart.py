"""``benchmarks/chart.png``: requests per second per scenario, and p99 as logins pile up (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import targets
from benchmarks.results import Results


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _bars(results: Results) -> list[tuple[str, float, str]]:
    """(label, req/s, colour) for the main scenarios and the peer."""
    bars = []
    for entry_id, _kind, share in targets.main_rows(results):
        found = results.measurement(entry_id)
        if found is None:
            continue
        colour = "#777777"
        if share is not None:
            colour = "#2e7d32" if targets.ceiling_share(results, entry_id, share).met else "#c62828"
        bars.append((results.entries[entry_id].label.replace("GET /api/me, ", ""), found.rps, colour))
    for entry_id in ("peer.jwt", "peer.redis"):
        found = results.measurement(entry_id)
        if found is not None:
            bars.append((results.entries[entry_id].label.replace("GET /users/me, ", ""), found.rps, "#1565c0"))
    return bars


def draw(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [3, 2]})
    bars = _bars(results)
    labels, values, colours = [b[0] for b in bars], [b[1] for b in bars], [b[2] for b in bars]
    left.barh(range(len(bars)), values, color=colours)
    for row, value in enumerate(values):
        left.text(value, row, f" {value:,.0f}", va="center", fontsize=8)
    if values:
        left.set_xlim(0, max(values) * 1.15)
    left.set_yticks(range(len(bars)), labels, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("requests/s (one worker on one core; higher is better)")
    ceiling = results.measurement("ceiling")
    if ceiling is not None:
        for share, style in ((0.90, "--"), (0.85, ":")):
            left.axvline(ceiling.rps * share, color="black", linestyle=style, linewidth=1,
                         label=f"{share:.0%} of the first ceiling")
        left.legend(loc="lower right", fontsize=8)
    left.set_title("GET /api/me: green met its target, red missed, blue fastapi-users", fontsize=10)
    _scale_panel(results, right)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scale_panel(results: Results, ax: Any) -> None:
    counts = results.context.get("settings", {}).get("login_counts", [])
    for store in ("sqlite", "redis"):
        for kind, marker in (("cookie", "o"), ("bearer", "s")):
            points = [(c, m.p99_ms) for c in counts if (m := results.measurement(f"me.{kind}.{store}@{c}"))]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker,
                        label=f"{kind}, {store}")
    ax.set_xscale("log")
    ax.set_xlabel("logins in the store")
    ax.set_ylabel("GET /api/me p99, ms (lower is better)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("raw p99 as logins pile up (judged: ÷ its /healthz p99)", fontsize=10)
