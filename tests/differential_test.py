#!/usr/bin/python3
"""Differential check: Winback against the analysts' own tools.

On a small generated export, Winback's session count, sessions per customer,
every session's record (customer, start, end, count per event type, traffic
source, last event), churn labels and censoring must equal the pandas
baseline's exactly
(bench/baselines/pandas_pipeline.py), and its held-out AUC must be within
0.01 of scikit-learn's LogisticRegression fitted on the same features, split
and settings (imbalanced-learn for the resampling options).

Exits 77 (reported by ctest as skipped) with a message when pandas,
scikit-learn or imbalanced-learn cannot be imported.

Usage: differential_test.py --datagen BIN --winback BIN --baselines DIR
"""

import argparse
import csv
import os
import sqlite3
import subprocess
import sys
import tempfile

SKIP = 77
EVENT_COLUMNS = ["homepage", "search", "item_detail", "add_to_cart", "add_promo", "booking",
                 "click", "scroll", "promo_page"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datagen", required=True)
    ap.add_argument("--winback", required=True)
    ap.add_argument("--baselines", required=True)
    ap.add_argument("--customers", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=3, help="the generated export's seed")
    args = ap.parse_args()

    try:
        import numpy as np
        import pandas  # noqa: F401  (the baseline needs it)
        from imblearn.over_sampling import SMOTE, BorderlineSMOTE
        from imblearn.under_sampling import RandomUnderSampler
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.preprocessing import StandardScaler
    except ImportError as e:
        print(f"SKIP: the differential check needs python3-pandas, python3-sklearn and "
              f"python3-imblearn (Debian packages): {e}")
        return SKIP

    checks = []

    def check(name, ok, detail=""):
        checks.append(ok)
        print(f"{'PASS' if ok else 'FAIL'}: {name}{': ' + detail if detail else ''}")

    with tempfile.TemporaryDirectory(prefix="winback-diff-") as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([args.datagen, "--customers", str(args.customers), "--seed", str(args.seed),
                        "--out", data], check=True, stdout=subprocess.DEVNULL)
        export = os.path.join(tmp, "export")
        os.makedirs(export)
        with open(os.path.join(tmp, "winback.yaml"), "w") as f:
            f.write("data: {dir: data}\nstore: {path: winback.db}\n")
        subprocess.run([args.winback, "-q", "run", "--config", os.path.join(tmp, "winback.yaml"),
                        "--export-dir", export], check=True, stdout=subprocess.DEVNULL)
        pandas_out = os.path.join(tmp, "pandas")
        subprocess.run([sys.executable, os.path.join(args.baselines, "pandas_pipeline.py"),
                        "--data", data, "--out", pandas_out,
                        "--stages", "ingest,sessionize,label", "--write-sessions"],
                       check=True, stdout=subprocess.DEVNULL)

        db = sqlite3.connect(os.path.join(tmp, "winback.db"))
        run_id, as_of = db.execute(
            "SELECT run_id, as_of_us FROM runs WHERE published = 1 "
            "ORDER BY run_id DESC LIMIT 1").fetchone()
        counts = dict(db.execute("SELECT name, value FROM run_counts WHERE run_id = ?",
                                 (run_id,)))
        import json
        with open(os.path.join(pandas_out, "summary.json")) as f:
            summary = json.load(f)

        check("as-of time", as_of == summary["as_of_us"], f"{as_of} vs {summary['as_of_us']}")
        for ours, theirs in [("session_ids", "session_ids"), ("sessions", "sessions"),
                             ("sessions_linked", "sessions_linked"),
                             ("purchases", "purchases"),
                             ("customer_months_labeled", "labeled"),
                             ("customer_months_censored", "censored"),
                             ("customer_months_churned", "churned")]:
            check(f"{ours} count", counts[ours] == summary[theirs],
                  f"winback {counts[ours]}, pandas {summary[theirs]}")

        def read_csv(path, key_cols):
            with open(path) as f:
                return {tuple(row[c] for c in key_cols): row for row in csv.DictReader(f)}

        ours = read_csv(os.path.join(export, "sessions_per_customer.csv"), ["customer_id"])
        theirs = read_csv(os.path.join(pandas_out, "sessions_per_customer.csv"), ["customer_id"])
        diff = [k for k in set(ours) | set(theirs)
                if k not in ours or k not in theirs
                or int(ours[k]["sessions"]) != int(theirs[k]["sessions"])]
        check("sessions per customer", not diff and len(ours) > 100,
              f"{len(ours)} customers, {len(diff)} differ (first: {sorted(diff)[:3]})")

        # Every session's record: customer, start, end, event count, count per
        # event type, traffic source and last event.
        ours = read_csv(os.path.join(export, "sessions.csv"), ["session_id"])
        theirs = read_csv(os.path.join(pandas_out, "sessions.csv"), ["session_id"])
        diff = [k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)]
        repeats = sum(1 for r in ours.values()
                      if int(r["events"]) > sum(int(r[t]) > 0 for t in EVENT_COLUMNS))
        check("every session's record", not diff and len(ours) > 1000 and repeats > 100
              and len(next(iter(ours.values()))) == 7 + len(EVENT_COLUMNS),
              f"{len(ours)} sessions ({repeats} holding a type more than once), "
              f"{len(diff)} differ (first: {sorted(diff)[:3]})")

        stored = {(str(c), m): (int(t), int(ch), int(ce)) for c, m, t, ch, ce in db.execute(
            "SELECT customer_id, month, last_purchase_at_us, churned, censored FROM "
            "churn_labels WHERE run_id = ?", (run_id,))}
        baseline = {}
        with open(os.path.join(pandas_out, "labels.csv")) as f:
            for row in csv.DictReader(f):
                baseline[(row["customer_id"], row["month"])] = (
                    int(row["last_purchase_at_us"]), int(row["churned"]), int(row["censored"]))
        diff = [k for k in set(stored) | set(baseline) if stored.get(k) != baseline.get(k)]
        check("churn labels and censoring", not diff and len(stored) > 1000,
              f"{len(stored)} customer-months, {len(diff)} differ (first: {sorted(diff)[:3]})")

        # The model: scikit-learn on Winback's own training and holdout inputs,
        # with the settings Winback's grid search chose; then each imbalance
        # option in turn, forced through the config.
        def load(name):
            m = np.loadtxt(os.path.join(export, name), delimiter=",", skiprows=1)
            return m[:, :-1], m[:, -1].astype(int)

        def sklearn_auc(c, imbalance):
            x_train, y_train = load("model_train.csv")
            x_hold, y_hold = load("model_holdout.csv")
            scaler = StandardScaler().fit(x_train)
            xs, ys = scaler.transform(x_train), y_train
            class_weight = None
            samplers = {
                "undersample": RandomUnderSampler(random_state=0),
                "smote": SMOTE(k_neighbors=5, random_state=0),
                "borderline_smote": BorderlineSMOTE(k_neighbors=5, m_neighbors=10,
                                                    kind="borderline-1", random_state=0),
            }
            if imbalance == "class_weight":
                class_weight = "balanced"
            # Random resampling makes one fit's AUC a draw: average five seeds.
            seeds = range(5) if imbalance in samplers else [0]
            aucs = []
            for seed in seeds:
                xr, yr = xs, ys
                if imbalance in samplers:
                    xr, yr = samplers[imbalance].set_params(random_state=seed).fit_resample(xs, ys)
                model = LogisticRegression(C=c, class_weight=class_weight, max_iter=10000,
                                           tol=1e-10)
                model.fit(xr, yr)
                p = model.predict_proba(scaler.transform(x_hold))[:, 1]
                aucs.append(roc_auc_score(y_hold, p))
            return float(np.mean(aucs)), len(y_train), len(y_hold)

        def compare(label):
            run, c, imbalance, auc = db.execute(
                "SELECT run_id, c, imbalance, auc FROM model_reports "
                "ORDER BY run_id DESC LIMIT 1").fetchone()
            sk_auc, n_train, n_hold = sklearn_auc(c, imbalance)
            check(f"held-out AUC vs scikit-learn, {label}", abs(sk_auc - auc) <= 0.01,
                  f"winback {auc:.4f}, scikit-learn {sk_auc:.4f} (C={c}, {imbalance}, "
                  f"{n_train} training rows, {n_hold} held out)")

        compare("the grid search's choice")
        for imbalance in ["none", "class_weight", "undersample", "smote", "borderline_smote"]:
            with open(os.path.join(tmp, "winback.yaml"), "w") as f:
                f.write("data: {dir: data}\nstore: {path: winback.db}\n"
                        f"model: {{c_values: [1], imbalance: [{imbalance}]}}\n")
            subprocess.run([args.winback, "-q", "run", "--config",
                            os.path.join(tmp, "winback.yaml"), "--export-dir", export],
                           check=True, stdout=subprocess.DEVNULL)
            compare(f"forced {imbalance}")

    passed = sum(checks)
    print(f"{passed} passed, {len(checks) - passed} failed")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
