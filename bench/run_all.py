"""Every benchmark in one go (issue 7): start-up, import, suggest, analysis, export, and
the suggestion quality on the WAC interviews when ../shared is there. Each runs as its
own process; its printed figures, wall time and peak memory (the largest process of its
tree) go into one table, written as Markdown and JSON.

    python bench/run_all.py [--quick] [-o bench-results]

--quick runs smaller sizes (a check that everything works, in a few minutes); the
figures the issues' targets refer to come from a full run (about half an hour here).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "eval" / "wac"

# name: (script, full-size arguments, quick arguments)
BENCHMARKS = {
    "startup": ("startup.py", [], ["--runs", "5"]),
    "import": ("ingest.py", [], ["--documents", "100"]),
    "suggest": ("suggest.py", [], ["--words", "100000"]),
    "analysis": ("analysis.py", [], ["--documents", "100"]),
    "export": ("export.py", [], ["--documents", "100"]),
    "wac": ("wac.py", [], ["--seeds", "1"]),
}


def run(script: str, arguments: list[str]) -> dict:
    """Run one benchmark; its peak memory comes from wait4: the largest process of its
    tree (qcode processes it started and waited for included)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # the qcode script of the Python running this (a venv need not be activated)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, str(HERE / script), *arguments],
                                   stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        figures, errors = out.read().strip().splitlines(), err.read().strip().splitlines()
    return {"exit": process.returncode, "seconds": round(time.perf_counter() - start, 1),
            "peak_mib": round(usage.ru_maxrss / 1024), "figures": figures,
            "errors": errors[-3:] if process.returncode else []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-o", "--output", type=Path, default=Path("bench-results"))
    parser.add_argument("--only", nargs="*", choices=list(BENCHMARKS))
    args = parser.parse_args()
    results = {}
    for name, (script, full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        if name == "wac" and not SHARED.exists():
            results[name] = {"skipped": "needs ../shared/eval/wac"}
            continue
        print(f"running {name} …", file=sys.stderr, flush=True)
        results[name] = run(script, quick if args.quick else full)
    lines = ["| benchmark | exit | wall s | peak MiB (largest process) | figures |",
             "|---|---|---|---|---|"]
    for name, result in results.items():
        if "skipped" in result:
            lines.append(f"| {name} | – | – | – | skipped: {result['skipped']} |")
            continue
        figures = "<br>".join(result["figures"] or result["errors"])
        lines.append(f"| {name} | {result['exit']} | {result['seconds']} | "
                     f"{result['peak_mib']} | {figures} |")
    table = "\n".join(lines) + "\n"
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.md").write_text(table, encoding="utf-8")
    (args.output / "results.json").write_text(json.dumps(
        {"quick": args.quick, "python": sys.version.split()[0], "results": results},
        indent=2), encoding="utf-8")
    print(table)
    print(f"written to {args.output}/results.md and results.json", file=sys.stderr)
    if any(r.get("exit") for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
