#!/usr/bin/env python3
"""Checks that workspace crates depend only downwards (STYLE.md 2.1): cargo stops cycles,
not skipped or sideways edges."""
import json
import subprocess
import sys

ALLOWED = {
    "rusts": {"rusts_common", "rusts_storage", "rusts_catalog", "rusts_sql", "rusts_planner", "rusts_wire"},
    "rusts_wire": {"rusts_sql", "rusts_planner", "rusts_common"},
    "rusts_planner": {"rusts_sql", "rusts_catalog", "rusts_storage", "rusts_common"},
    "rusts_sql": {"rusts_common"},
    "rusts_catalog": {"rusts_common"},
    "rusts_storage": {"rusts_common"},
    "rusts_common": set(),
}

metadata = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"]))
members = {package["name"] for package in metadata["packages"]}
bad = []
for package in metadata["packages"]:
    name = package["name"]
    if name not in ALLOWED:
        bad.append(f"{name}: not in the allowed-edges table of .ci/check-deps.py")
        continue
    for dependency in package["dependencies"]:
        target = dependency["name"]
        if target in members and dependency["kind"] is None and target not in ALLOWED[name]:
            bad.append(f"{name} -> {target} is not an allowed edge")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"dependency edges ok ({len(members)} workspace crates)")
