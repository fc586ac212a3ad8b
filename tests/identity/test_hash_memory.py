"""``passgate serve`` keeps argon2id's memory block from one hash to the next (glibc's malloc tuned
once, process-wide, so it is checked in a process of its own).  Blocks up to 32 MiB glibc already
reuses by itself; the default 64 MiB it does not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import json, resource, sys
import argon2
from passgate.web.serving import keep_hash_memory
tuned = sys.argv[1] == "tuned" and keep_hash_memory(64 * 1024 * 1024, 1)
hasher = argon2.PasswordHasher(time_cost=1, memory_cost=64 * 1024, parallelism=2, type=argon2.Type.ID)
stored = hasher.hash("first")
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    hasher.verify(stored, "first")
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"tuned": tuned, "faults": faults}))
"""


def _faults(mode: str) -> tuple[bool, list[int]]:
    """Whether the tuning took, and the page faults of each of three hashes."""
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout)
    return bool(result["tuned"]), [int(n) for n in result["faults"]]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_each_hash_faults_its_memory_in_unless_serve_keeps_it() -> None:
    (_, plain), (tuned, kept) = _faults("plain"), _faults("tuned")
    pages = 64 * 1024 * 1024 // 4096
    assert min(plain) >= pages
    assert tuned
    assert max(kept) < pages // 20
