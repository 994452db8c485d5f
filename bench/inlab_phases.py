"""Run inside a lab by diagnose_bench: where one diagnosis spends its time, in-process.

Prints one JSON object: the D-Bus calls collect_neighbourhood made (count and the
seconds spent inside them), how many units it loaded, the whole collect, the
unit-file scan read in full (no cache) and through the cache, and the analysis.
Medians of ``--repeat`` runs on fresh connections, after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from wizard.analysis import diagnose
from wizard.model.connection import system_connection
from wizard.system.host_files import SCAN_CACHE, HostFiles, UnitScanCache
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import SystemdClient, systemd_client


def _one(target: str) -> dict[str, Any]:
    calls = 0
    in_calls = 0.0
    original = SystemdClient._call

    def counted(self: SystemdClient, *args: Any) -> Any:
        nonlocal calls, in_calls
        start = time.perf_counter()
        try:
            return original(self, *args)
        finally:
            calls += 1
            in_calls += time.perf_counter() - start

    SystemdClient._call = counted  # type: ignore[method-assign,assignment]
    try:
        with systemd_client(system_connection()) as client:
            start = time.perf_counter()
            snapshot = collect_neighbourhood(client, target)
            collect = time.perf_counter() - start
            transport = type(client._bus).__name__
    finally:
        SystemdClient._call = original  # type: ignore[method-assign]
    start = time.perf_counter()
    mentions = HostFiles("/").unit_files_mentioning("systemctl")
    scan_full = time.perf_counter() - start
    start = time.perf_counter()
    cached = HostFiles("/", scan_cache=UnitScanCache(SCAN_CACHE)).unit_files_mentioning(
        "systemctl")
    scan_cached = time.perf_counter() - start
    if cached != mentions:
        raise SystemExit("the cached unit-file scan differs from a full one")
    start = time.perf_counter()
    diagnose(snapshot)
    analysis = time.perf_counter() - start
    return {
        "dbus_calls": calls, "dbus_seconds": in_calls, "units": len(snapshot.units),
        "walked": len(snapshot.walked), "collect": collect, "scan_full": scan_full,
        "scan_cached": scan_cached, "analysis": analysis, "bus": transport,
    }


def main() -> None:
    """Measure and print the medians as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("target")
    args = parser.parse_args()
    _one(args.target)  # warm-up: the cache written, the lab's page cache warm
    runs = [_one(args.target) for _ in range(args.repeat)]
    result: dict[str, Any] = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs]
        result[key] = statistics.median(values) if isinstance(value, float) else value
    print(json.dumps(result))


if __name__ == "__main__":
    main()
