#!/usr/bin/python3
"""Analysts' baseline pipeline in pandas: ingest, sessionize, churn labels
(and optionally features + a logistic-regression model).

This is the notebook the retailer's analysts used, tidied into a script so
that Winback can be checked against it (same answers) and timed against it.
It is written the way pandas is normally used: vectorised where that is the
obvious thing to do, but not micro-optimised.

Run with Debian's interpreter (pandas 1.5, scikit-learn 1.2, imbalanced-learn
0.10):

    /usr/bin/python3 bench/baselines/pandas_pipeline.py --data DIR \
        [--as-of ISO] [--out OUTDIR] [--stages ingest,sessionize,label[,model]]

See README.md in this directory for the output files.
"""

import argparse
import ast
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

US_PER_MIN = 60 * 1_000_000
US_PER_DAY = 24 * 60 * US_PER_MIN
SESSION_GAP_US = 30 * US_PER_MIN
CHURN_WINDOW_US = 25 * US_PER_DAY

CUSTOMER_COLS = ["customer_id", "first_name", "last_name", "username", "email",
                 "gender", "birthdate", "device_type", "device_id",
                 "device_version", "home_location_lat", "home_location_long",
                 "home_location", "home_country", "first_join_date"]
PRODUCT_COLS = ["id", "gender", "masterCategory", "subCategory", "articleType",
                "baseColour", "season", "year", "usage", "productDisplayName"]
TRANSACTION_COLS = ["created_at", "customer_id", "booking_id", "session_id",
                    "product_metadata", "payment_method", "payment_status",
                    "promo_amount", "promo_code", "shipment_fee",
                    "shipment_date_limit", "shipment_location_lat",
                    "shipment_location_long", "total_amount"]
CLICK_COLS = ["session_id", "event_name", "event_time", "event_id",
              "traffic_source", "event_metadata"]
EVENT_NAMES = ["HOMEPAGE", "SEARCH", "ITEM_DETAIL", "ADD_TO_CART", "ADD_PROMO",
               "BOOKING", "CLICK", "SCROLL", "PROMO_PAGE"]


def to_us(ts: pd.Series) -> pd.Series:
    """tz-aware datetime64[ns, UTC] -> int64 microseconds since the epoch."""
    return ts.astype("int64") // 1000


def parse_as_of(text: str) -> int:
    ts = pd.Timestamp(text)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value // 1000)


def read_csv_checked(path: str, columns, **kw) -> pd.DataFrame:
    df = pd.read_csv(path, **kw)
    if list(df.columns) != columns:
        raise SystemExit(f"{path}: unexpected header {list(df.columns)}")
    return df


# --------------------------------------------------------------------------
# Stage 1: ingest
# --------------------------------------------------------------------------
def ingest(data_dir: str) -> dict:
    d = {}

    customers = read_csv_checked(
        os.path.join(data_dir, "customer.csv"), CUSTOMER_COLS,
        dtype={"customer_id": "int64"}, keep_default_na=False, na_values=[""])
    customers["birthdate"] = pd.to_datetime(customers["birthdate"],
                                            format="%Y-%m-%d", utc=True)
    customers["first_join_date"] = pd.to_datetime(
        customers["first_join_date"], format="%Y-%m-%d", utc=True)
    d["customers"] = customers

    # product.csv: ~22 rows have unquoted commas in productDisplayName (the
    # last column). Rejoin the trailing fields into the name and count them.
    repaired = []

    def rejoin(fields):
        repaired.append(1)
        return fields[:9] + [",".join(fields[9:])]

    products = read_csv_checked(
        os.path.join(data_dir, "product.csv"), PRODUCT_COLS,
        engine="python", on_bad_lines=rejoin, dtype={"id": "int64"},
        keep_default_na=False, na_values=[""])
    d["products"] = products
    d["products_repaired"] = len(repaired)

    tx = read_csv_checked(
        os.path.join(data_dir, "transactions.csv"), TRANSACTION_COLS,
        dtype={"customer_id": "int64", "promo_code": "object"},
        keep_default_na=False, na_values=[""])
    tx["created_at"] = pd.to_datetime(tx["created_at"], utc=True)
    tx["shipment_date_limit"] = pd.to_datetime(tx["shipment_date_limit"],
                                               utc=True)
    # Python-literal list of dicts, e.g. "[{'product_id': 1, ...}]".
    tx["product_metadata"] = tx["product_metadata"].map(ast.literal_eval)
    tx["created_at_us"] = to_us(tx["created_at"])
    d["transactions"] = tx
    items = tx[["booking_id", "product_metadata"]].explode("product_metadata")
    d["line_items"] = int(items["product_metadata"].notna().sum())

    clicks = read_csv_checked(
        os.path.join(data_dir, "click_stream.csv"), CLICK_COLS,
        keep_default_na=False, na_values=[""])
    clicks["event_time"] = pd.to_datetime(clicks["event_time"], utc=True)
    clicks["event_time_us"] = to_us(clicks["event_time"])
    # event_metadata (Python-literal dicts) is not needed by stages 2-5, so it
    # is left as text, as the analysts did; see parse_event_metadata().
    d["clicks"] = clicks
    return d


def parse_event_metadata(clicks: pd.DataFrame) -> pd.Series:
    """The event_metadata dicts (None where empty). Not used by default."""
    return clicks["event_metadata"].map(
        lambda s: ast.literal_eval(s) if isinstance(s, str) and s else None)


# --------------------------------------------------------------------------
# Stage 2: sessionize
# --------------------------------------------------------------------------
def sessionize(d: dict, as_of_us: int) -> pd.DataFrame:
    """Re-split session_ids at gaps > 30 min; link to customers."""
    clicks = d["clicks"]
    ev = clicks.loc[clicks["event_time_us"] <= as_of_us,
                    ["session_id", "event_name", "event_time_us", "event_id",
                     "traffic_source"]]
    ev = ev.sort_values(["session_id", "event_time_us", "event_id"])
    gap = ev.groupby("session_id")["event_time_us"].diff()
    ev["new_session"] = gap.isna() | (gap > SESSION_GAP_US)
    ev["piece"] = ev.groupby("session_id")["new_session"].cumsum()

    sessions = ev.groupby(["session_id", "piece"], sort=False).agg(
        start_us=("event_time_us", "first"),
        end_us=("event_time_us", "last"),
        events=("event_time_us", "size"),
        last_event=("event_name", "last"),
        traffic_source=("traffic_source", "first"),
    ).reset_index()
    # Count per event type: one column per type, named in lower case.
    per_type = (ev.groupby(["session_id", "piece", "event_name"]).size()
                .unstack(fill_value=0)
                .reindex(columns=EVENT_NAMES, fill_value=0))
    per_type.columns = [c.lower() for c in per_type.columns]
    sessions = sessions.join(per_type, on=["session_id", "piece"])
    sessions["has_booking"] = sessions["booking"] > 0

    # A session_id belongs to the customer of its booking (earliest booking at
    # or before T, whatever its payment status).
    tx = d["transactions"]
    links = (tx.loc[tx["created_at_us"] <= as_of_us,
                    ["session_id", "customer_id", "created_at_us"]]
             .sort_values(["session_id", "created_at_us"])
             .drop_duplicates("session_id"))
    sessions = sessions.merge(links[["session_id", "customer_id"]],
                              on="session_id", how="left")
    d["click_events_used"] = len(ev)
    return sessions


# --------------------------------------------------------------------------
# Stage 3: churn labels (25-day rule)
# --------------------------------------------------------------------------
def label_churn(d: dict, as_of_us: int) -> pd.DataFrame:
    tx = d["transactions"]
    p = tx.loc[(tx["payment_status"] == "Success")
               & (tx["created_at_us"] <= as_of_us),
               ["customer_id", "created_at", "created_at_us"]].copy()
    d["purchases"] = len(p)
    p["month"] = p["created_at"].dt.strftime("%Y-%m")
    m = (p.groupby(["customer_id", "month"])["created_at_us"]
         .agg(first_us="min", last_us="max").reset_index()
         .sort_values(["customer_id", "month"]))
    # The next purchase after the month's last one is the first purchase of
    # the customer's next month with a purchase.
    m["next_us"] = m.groupby("customer_id")["first_us"].shift(-1)
    repurchased = (m["next_us"] - m["last_us"]) <= CHURN_WINDOW_US
    censored = m["last_us"] + CHURN_WINDOW_US > as_of_us
    labels = pd.DataFrame({
        "customer_id": m["customer_id"].values,
        "month": m["month"].values,
        "last_purchase_at_us": m["last_us"].values,
        "churned": (~repurchased & ~censored).astype(int).values,
        "censored": censored.astype(int).values,
    })
    return labels


# --------------------------------------------------------------------------
# Stages 4-5: features + model.  ALIGN WITH THE C++ FEATURE CODE HERE.
# --------------------------------------------------------------------------
def compute_features(points: pd.DataFrame, d: dict, sessions: pd.DataFrame,
                     as_of_us: int) -> pd.DataFrame:
    """Features per (customer_id, cutoff_us), from data strictly before the
    cutoff (for a label month M the cutoff is the first instant of M+1).

    Every feature definition lives in this one function so that it can be
    aligned with the C++ code (jobs/features) in one place:
      recency_days          (cutoff - last purchase) / 1 day
      frequency             purchases before cutoff
      monetary              sum of total_amount of those purchases (IDR)
      tenure_days           (cutoff - first_join_date) / 1 day
      avg_basket            monetary / frequency
      promo_share           share of purchases with a promo code
      sessions_per_month    linked sessions starting in [cutoff-90d, cutoff) / 3
      avg_session_minutes   mean (end - start) of those sessions, 0 if none
      booking_session_share share of those sessions whose last event is BOOKING
      cart_abandon_share    share of those sessions whose last event is
                            ADD_TO_CART
      days_since_last_session (cutoff - last session end before cutoff) / 1 day,
                            3650 when there is none
      session_trend         (s30 - s_prev30) / (s30 + s_prev30 + 1), with s30 the
                            sessions starting in [cutoff-30d, cutoff) and s_prev30
                            those in [cutoff-60d, cutoff-30d)
      is_ios, is_female     0/1 from customer.csv
      age_years             (cutoff - birthdate) / 365.25 days
    Sessions are attributed to customers through transactions.session_id for
    the whole export (as the analysts did), not only through bookings made
    before the cutoff.
    """
    pts = points[["customer_id", "cutoff_us"]].copy()
    pts["row"] = np.arange(len(pts))
    pts = pts.sort_values("cutoff_us")

    def asof(right: pd.DataFrame, on: str, shift_us: int, cols) -> pd.DataFrame:
        """Cumulative columns of `right` at the last row with on < cutoff-shift."""
        left = pts[["row", "customer_id", "cutoff_us"]].copy()
        left["key"] = left["cutoff_us"] - shift_us
        r = right[["customer_id", on] + cols].rename(columns={on: "key"})
        out = pd.merge_asof(left, r.sort_values("key"), on="key",
                            by="customer_id", direction="backward",
                            allow_exact_matches=False)
        return out.set_index("row")[cols].sort_index().fillna(0)

    # Purchases: cumulative counts and sums per customer in time order.
    tx = d["transactions"]
    p = tx.loc[(tx["payment_status"] == "Success")
               & (tx["created_at_us"] <= as_of_us),
               ["customer_id", "created_at_us", "total_amount", "promo_code"]]
    p = p.sort_values(["customer_id", "created_at_us"]).copy()
    g = p.groupby("customer_id")
    p["cum_n"] = g.cumcount() + 1
    p["cum_amount"] = g["total_amount"].cumsum()
    p["has_promo"] = p["promo_code"].notna().astype(int)
    p["cum_promo"] = p.groupby("customer_id")["has_promo"].cumsum()
    p["last_at"] = p["created_at_us"]
    pc = asof(p, "created_at_us", 0, ["cum_n", "cum_amount", "cum_promo",
                                      "last_at"])

    # Linked sessions: cumulative counts per customer by start time.
    s = sessions.loc[sessions["customer_id"].notna()].copy()
    s["customer_id"] = s["customer_id"].astype("int64")
    s = s.sort_values(["customer_id", "start_us"])
    g = s.groupby("customer_id")
    s["cum_n"] = g.cumcount() + 1
    s["minutes"] = (s["end_us"] - s["start_us"]) / US_PER_MIN
    s["is_booking_end"] = (s["last_event"] == "BOOKING").astype(int)
    s["is_cart_end"] = (s["last_event"] == "ADD_TO_CART").astype(int)
    for c in ["minutes", "is_booking_end", "is_cart_end"]:
        s["cum_" + c] = s.groupby("customer_id")[c].cumsum()
    scols = ["cum_n", "cum_minutes", "cum_is_booking_end", "cum_is_cart_end"]
    s_now = asof(s, "start_us", 0, scols)
    s_30 = asof(s, "start_us", 30 * US_PER_DAY, ["cum_n"])
    s_60 = asof(s, "start_us", 60 * US_PER_DAY, ["cum_n"])
    s_90 = asof(s, "start_us", 90 * US_PER_DAY, scols)
    s_end = s.sort_values(["customer_id", "end_us"]).copy()
    s_end["last_end"] = s_end["end_us"]
    last_end = asof(s_end, "end_us", 0, ["last_end"])

    out = points[["customer_id", "cutoff_us"]].reset_index(drop=True).copy()
    cutoff = out["cutoff_us"].values
    freq = pc["cum_n"].values
    out["recency_days"] = np.where(freq > 0, (cutoff - pc["last_at"].values)
                                   / US_PER_DAY, 3650.0)
    out["frequency"] = freq
    out["monetary"] = pc["cum_amount"].values
    out["avg_basket"] = np.where(freq > 0, pc["cum_amount"].values
                                 / np.maximum(freq, 1), 0.0)
    out["promo_share"] = np.where(freq > 0, pc["cum_promo"].values
                                  / np.maximum(freq, 1), 0.0)
    n90 = s_now["cum_n"].values - s_90["cum_n"].values
    out["sessions_per_month"] = n90 / 3.0
    safe = np.maximum(n90, 1)
    out["avg_session_minutes"] = np.where(
        n90 > 0, (s_now["cum_minutes"].values - s_90["cum_minutes"].values)
        / safe, 0.0)
    out["booking_session_share"] = np.where(
        n90 > 0, (s_now["cum_is_booking_end"].values
                  - s_90["cum_is_booking_end"].values) / safe, 0.0)
    out["cart_abandon_share"] = np.where(
        n90 > 0, (s_now["cum_is_cart_end"].values
                  - s_90["cum_is_cart_end"].values) / safe, 0.0)
    le = last_end["last_end"].values
    out["days_since_last_session"] = np.where(
        le > 0, (cutoff - le) / US_PER_DAY, 3650.0)
    s30 = s_now["cum_n"].values - s_30["cum_n"].values
    sp30 = s_30["cum_n"].values - s_60["cum_n"].values
    out["session_trend"] = (s30 - sp30) / (s30 + sp30 + 1.0)

    cust = d["customers"].set_index("customer_id")
    c = cust.reindex(out["customer_id"].values)
    join_us = to_us(c["first_join_date"]).values
    birth_us = to_us(c["birthdate"]).values
    out["tenure_days"] = (cutoff - join_us) / US_PER_DAY
    out["is_ios"] = (c["device_type"].values == "iOS").astype(int)
    out["is_female"] = (c["gender"].values == "F").astype(int)
    out["age_years"] = (cutoff - birth_us) / (365.25 * US_PER_DAY)
    return out


FEATURES = ["recency_days", "frequency", "monetary", "tenure_days",
            "avg_basket", "promo_share", "sessions_per_month",
            "avg_session_minutes", "booking_session_share",
            "cart_abandon_share", "days_since_last_session", "session_trend",
            "is_ios", "is_female", "age_years"]


def month_end_us(month: pd.Series) -> pd.Series:
    """'YYYY-MM' -> first instant (UTC us) of the following month."""
    start = pd.to_datetime(month + "-01", format="%Y-%m-%d", utc=True)
    return to_us(start + pd.offsets.MonthBegin(1))


def build_features_and_model(d: dict, sessions: pd.DataFrame,
                             labels: pd.DataFrame, as_of_us: int,
                             max_train_rows: int, seed: int = 0,
                             out_dir=None) -> dict:
    """Stage 4-5: features per labeled customer-month (as of the end of the
    month), LogisticRegression with an imbalance option, grid search with
    StratifiedKFold(5) on the fully labeled months, held-out AUC on the latest
    fully labeled month."""
    from imblearn.over_sampling import SMOTE, SVMSMOTE
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import (average_precision_score, brier_score_loss,
                                 roc_auc_score)
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    # Months whose labels are all known.
    censored_months = set(labels.loc[labels["censored"] == 1, "month"])
    full = labels.loc[~labels["month"].isin(censored_months)].copy()
    months = sorted(full["month"].unique())
    if len(months) < 2:
        return {"error": "fewer than two fully labeled months"}
    holdout_month = months[-1]
    full["cutoff_us"] = month_end_us(full["month"]).values
    feats = compute_features(full, d, sessions, as_of_us)
    if out_dir:
        # For aligning the feature definitions with the C++ code.
        f = feats.copy()
        f.insert(1, "month", full["month"].values)
        f["churned"] = full["churned"].values
        f.to_csv(os.path.join(out_dir, "features.csv"), index=False,
                 float_format="%.6f")
    X = feats[FEATURES].to_numpy(dtype=float)
    y = full["churned"].to_numpy()
    is_test = (full["month"] == holdout_month).to_numpy()
    X_train, y_train = X[~is_test], y[~is_test]
    X_test, y_test = X[is_test], y[is_test]
    sampled = False
    if max_train_rows and len(y_train) > max_train_rows:
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(y_train), max_train_rows, replace=False)
        X_train, y_train = X_train[idx], y_train[idx]
        sampled = True
    t_features = time.perf_counter() - t0
    if len(np.unique(y_train)) < 2 or np.bincount(y_train).min() < 5:
        return {"error": "too few training rows of each class for 5 folds",
                "train_rows": int(len(y_train)),
                "features_seconds": t_features}

    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("sampler", SMOTE(random_state=seed)),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    grid = {
        "clf__C": [0.01, 0.1, 1, 10],
        "sampler": ["passthrough", SMOTE(random_state=seed),
                    SVMSMOTE(random_state=seed),
                    RandomUnderSampler(random_state=seed)],
    }
    search = GridSearchCV(pipe, grid, scoring="roc_auc",
                          cv=StratifiedKFold(5, shuffle=True,
                                             random_state=seed),
                          n_jobs=-1)
    search.fit(X_train, y_train)
    prob = search.predict_proba(X_test)[:, 1]
    two_classes = len(np.unique(y_test)) == 2
    report = {
        "train_months": {"first": months[0], "last": months[-2],
                         "count": len(months) - 1},
        "holdout_month": holdout_month,
        "train_rows": int(len(y_train)),
        "train_sampled": sampled,
        "train_churn_rate": float(y_train.mean()),
        "test_rows": int(len(y_test)),
        "test_churn_rate": float(y_test.mean()) if len(y_test) else None,
        "best_params": {"C": search.best_params_["clf__C"],
                        "sampler": type(search.best_params_["sampler"]).__name__
                        if search.best_params_["sampler"] != "passthrough"
                        else "none"},
        "cv_auc": float(search.best_score_),
        "holdout_auc": float(roc_auc_score(y_test, prob)) if two_classes
        else None,
        "holdout_pr_auc": float(average_precision_score(y_test, prob))
        if two_classes else None,
        "holdout_brier": float(brier_score_loss(y_test, prob))
        if len(y_test) else None,
        "features_seconds": t_features,
        "search_seconds": time.perf_counter() - t0 - t_features,
    }
    return report


# --------------------------------------------------------------------------
def write_sessions(sessions: pd.DataFrame, path: str) -> None:
    """One row per session, as `winback run --export-dir` writes it (rows
    here sorted by session_id, then piece)."""
    s = sessions.sort_values(["session_id", "piece"])
    out = pd.DataFrame({
        "session_id": s["session_id"] + "#" + s["piece"].astype(str),
        "customer_id": s["customer_id"].astype("Int64"),
        "start_us": s["start_us"], "end_us": s["end_us"], "events": s["events"],
    })
    for name in EVENT_NAMES:
        out[name.lower()] = s[name.lower()]
    out["traffic_source"] = s["traffic_source"]
    out["last_event"] = s["last_event"]
    out.to_csv(path, index=False)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="export directory")
    ap.add_argument("--as-of", help="as-of time T (ISO-8601, UTC if no zone); "
                    "default: latest click or transaction time")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--stages", default="ingest,sessionize,label",
                    help="comma list of ingest,sessionize,label,model")
    ap.add_argument("--write-sessions", action="store_true",
                    help="also write OUTDIR/sessions.csv, one row per session "
                    "(not timed)")
    ap.add_argument("--model-max-train-rows", type=int, default=20000,
                    help="random sample of training rows for the grid search "
                    "(SVMSMOTE is quadratic); 0 = all")
    args = ap.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    known = {"ingest", "sessionize", "label", "model"}
    if not set(stages) <= known:
        ap.error(f"unknown stage(s): {sorted(set(stages) - known)}")
    if "model" in stages:
        stages = sorted(set(stages) | {"sessionize", "label"},
                        key=["ingest", "sessionize", "label", "model"].index)

    timings = {}
    summary = {}
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    d = ingest(args.data)
    timings["ingest"] = time.perf_counter() - t0
    if args.as_of:
        as_of_us = parse_as_of(args.as_of)
    else:
        as_of_us = int(max(d["clicks"]["event_time_us"].max(),
                           d["transactions"]["created_at_us"].max()))
    summary.update({
        "customers": len(d["customers"]),
        "products": len(d["products"]),
        "products_repaired": d["products_repaired"],
        "bookings": len(d["transactions"]),
        "line_items": d["line_items"],
        "click_events": len(d["clicks"]),
        "as_of_us": as_of_us,
    })

    sessions = labels = None
    if "sessionize" in stages:
        t0 = time.perf_counter()
        sessions = sessionize(d, as_of_us)
        linked = sessions.loc[sessions["customer_id"].notna()]
        per_customer = (linked.groupby("customer_id").size()
                        .rename("sessions").reset_index())
        per_customer["customer_id"] = per_customer["customer_id"].astype(
            "int64")
        timings["sessionize"] = time.perf_counter() - t0
        summary.update({
            "click_events_used": d["click_events_used"],
            "session_ids": int(sessions["session_id"].nunique()),
            "sessions": len(sessions),
            "sessions_linked": len(linked),
        })
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            per_customer.sort_values("customer_id").to_csv(
                os.path.join(args.out, "sessions_per_customer.csv"),
                index=False)
            if args.write_sessions:
                write_sessions(sessions,
                               os.path.join(args.out, "sessions.csv"))

    if "label" in stages:
        t0 = time.perf_counter()
        labels = label_churn(d, as_of_us)
        timings["label"] = time.perf_counter() - t0
        summary.update({
            "purchases": d["purchases"],
            "labeled": int((labels["censored"] == 0).sum()),
            "censored": int(labels["censored"].sum()),
            "churned": int(labels["churned"].sum()),
        })
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            labels.to_csv(os.path.join(args.out, "labels.csv"), index=False)

    if "model" in stages:
        t0 = time.perf_counter()
        report = build_features_and_model(d, sessions, labels, as_of_us,
                                          args.model_max_train_rows,
                                          out_dir=args.out)
        timings["model"] = time.perf_counter() - t0
        summary["model"] = report

    timings["total"] = time.perf_counter() - t_all
    summary["timings"] = timings
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    summary["tool"] = {"name": "pandas", "pandas": pd.__version__,
                       "numpy": np.__version__,
                       "python": sys.version.split()[0]}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
