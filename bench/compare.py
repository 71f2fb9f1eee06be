#!/usr/bin/python3
"""The benchmark: Winback against the analysts' pandas notebook and DuckDB.

On one generated export, runs each contender several times and prints a
table of time per stage and end to end (median, min, max), peak memory, and
Winback's speed-up over each baseline, plus the floor: the time to just read
the input files once (cat to /dev/null, file cache warm).

    bench/compare.py --customers 100000 [--runs 3] [--baseline-runs 2]
                     [--no-pandas] [--no-duckdb] [--pandas-model]
    bench/compare.py --data DIR ...

Build first (tools/build.sh); install the baselines with
bench/baselines/install.sh. Generated exports are cached in var/bench/.
Run it on a quiet machine: the figures are wall-clock.
"""

import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ["customer.csv", "product.csv", "transactions.csv", "click_stream.csv"]


def timed(cmd, **kwargs):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name] + cmd, check=True,
                       stdout=subprocess.DEVNULL, **kwargs)
        wall = time.perf_counter() - start
        rss_kb = int(t.read().strip().splitlines()[-1])
    return wall, rss_kb / 1024


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt(values):
    if not values:
        return "-"
    med, lo, hi = stats(values)
    return f"{med:8.2f} ({lo:.2f}-{hi:.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--customers", type=int, help="generate (or reuse) an export of this size")
    src.add_argument("--data", help="an existing export directory")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--runs", type=int, default=3, help="runs of Winback and the floor")
    ap.add_argument("--baseline-runs", type=int, default=2, help="runs of each baseline")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--pandas-model", action="store_true",
                    help="also time the pandas features + SMOTE grid search (the whole notebook)")
    ap.add_argument("--json", help="also write the raw figures here")
    args = ap.parse_args()

    winback = os.path.join(args.build, "jobs", "pipeline", "winback")
    datagen = os.path.join(args.build, "tools", "datagen", "winback-datagen")
    # Absolute: the run's config file, in a temporary directory, resolves a
    # relative data.dir against its own directory.
    data = os.path.abspath(args.data) if args.data else None
    if args.customers:
        data = os.path.join(ROOT, "var", "bench", f"c{args.customers}")
        if not os.path.exists(os.path.join(data, "click_stream.csv")):
            subprocess.run([datagen, "--customers", str(args.customers), "--seed", "42",
                            "--out", data], check=True)
    size = sum(os.path.getsize(os.path.join(data, f)) for f in FILES)
    with open(os.path.join(data, "click_stream.csv"), "rb") as f:
        clicks = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b"")) - 1

    results = {}
    paths = [os.path.join(data, f) for f in FILES]
    subprocess.run(["cat"] + paths, stdout=subprocess.DEVNULL, check=True)  # warm the cache
    results["floor"] = {"total": [timed(["cat"] + paths)[0] for _ in range(args.runs)]}

    work = tempfile.mkdtemp(prefix="winback-bench-")
    config = os.path.join(work, "winback.yaml")
    with open(config, "w") as f:
        f.write(f"data: {{dir: {data}}}\nstore: {{path: {work}/winback.db, keep_runs: 2}}\n")
    wb = {"total": [], "rss": [], "isl": []}
    # The CPU time of each stage (run_stages.cpu_seconds) and of the whole
    # process (runs.cpu_seconds): above the wall time where both cores worked.
    wb_cpu = {"total": [], "isl": []}
    for _ in range(args.runs):
        wall, rss = timed([winback, "-q", "run", "--config", config])
        db = sqlite3.connect(os.path.join(work, "winback.db"))
        run, cpu = db.execute(
            "SELECT run_id, cpu_seconds FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
        for stage, seconds, stage_cpu in db.execute(
                "SELECT stage, seconds, cpu_seconds FROM run_stages WHERE run_id = ? ORDER BY seq",
                (run,)):
            wb.setdefault(stage, []).append(seconds)
            wb_cpu.setdefault(stage, []).append(stage_cpu)
        db.close()
        wb["total"].append(wall)
        wb["rss"].append(rss)
        wb["isl"].append(wb["ingest"][-1] + wb["sessionize"][-1] + wb["label"][-1])
        wb_cpu["total"].append(cpu)
        wb_cpu["isl"].append(wb_cpu["ingest"][-1] + wb_cpu["sessionize"][-1] +
                             wb_cpu["label"][-1])
    results["winback"] = wb
    results["winback CPU"] = wb_cpu

    def baseline(name, cmd):
        out = {"total": [], "rss": [], "isl": []}
        for _ in range(args.baseline_runs):
            outdir = tempfile.mkdtemp(prefix=f"winback-bench-{name}-")
            wall, rss = timed(cmd + ["--data", data, "--out", outdir])
            with open(os.path.join(outdir, "summary.json")) as f:
                timings = json.load(f)["timings"]
            for stage, seconds in timings.items():
                out.setdefault(stage, []).append(seconds)
            out["total"].append(wall)
            out["rss"].append(rss)
            out["isl"].append(timings["ingest"] + timings["sessionize"] + timings["label"])
        return out

    baselines_dir = os.path.join(ROOT, "bench", "baselines")
    if not args.no_pandas:
        stages = "ingest,sessionize,label" + (",model" if args.pandas_model else "")
        results["pandas"] = baseline("pandas", ["/usr/bin/python3",
                                                os.path.join(baselines_dir, "pandas_pipeline.py"),
                                                "--stages", stages])
    if not args.no_duckdb:
        if os.path.isdir(os.path.join(baselines_dir, "node_modules", "@duckdb")):
            results["duckdb"] = baseline("duckdb", ["node", os.path.join(baselines_dir,
                                                                         "duckdb_pipeline.mjs")])
        else:
            print("note: DuckDB baseline not installed (bench/baselines/install.sh); skipped")

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"\n{datetime.date.today()}  {os.cpu_count()} cores ({cpu}), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"{platform.platform()}")
    print(f"data: {data}: {size / 1e9:.2f} GB of CSV, {clicks:,} click events")
    print(f"seconds, median (min-max) of {args.runs} runs for Winback and the floor, "
          f"{args.baseline_runs} for each baseline\n")
    stage_names = ["ingest", "sessionize", "label", "features", "model", "segment", "target",
                   "diagnose", "readout", "publish"]
    header = f"{'':12}" + "".join(f"{n:>24}" for n in results)
    print(header)
    for stage in stage_names + ["isl", "total"]:
        label = {"isl": "ingest+sess+label", "total": "end to end (wall)"}.get(stage, stage)
        print(f"{label:12}" + "".join(f"{fmt(r.get(stage, [])):>24}" for r in results.values()))
    print(f"{'peak RSS MiB':12}" + "".join(
        f"{fmt(r.get('rss', [])):>24}" for r in results.values()))
    print("(winback CPU: user + system seconds of the run's process, per stage and in all; above the"
          " wall time where a stage kept both cores busy)")

    floor = statistics.median(results["floor"]["total"])
    w_isl = statistics.median(wb["isl"])
    w_total = statistics.median(wb["total"])
    print(f"\nWinback end to end: {w_total / floor:.1f}x the read-the-files floor; "
          f"peak RSS {statistics.median(wb['rss']):.0f} MiB vs {size / 2**20:.0f} MiB of CSV")
    for name in ("pandas", "duckdb"):
        if name in results:
            r = results[name]
            line = (f"speed-up over {name}: ingest+sessionize+label "
                    f"{statistics.median(r['isl']) / w_isl:.1f}x")
            line += (f", end to end {statistics.median(r['total']) / w_total:.1f}x"
                     f" ({name} {'with' if name == 'pandas' and args.pandas_model else 'without'}"
                     f" the model stage)")
            print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"data": data, "bytes": size, "clicks": clicks, "results": results}, f,
                      indent=1)


if __name__ == "__main__":
    sys.exit(main())
