#!/usr/bin/python3
"""Pages through one campaign's target list from winbackd, as a marketing
tool would, and writes it as CSV (to --out, or stdout).

    WINBACK_API_KEY=<reader key> tools/clients/page_targets.py \\
        --addr 127.0.0.1:50051 --campaign win-back-lapsed-high-value \\
        [--run RUN_ID] [--page-size 1000] [--out list.csv]

It needs Debian's python3-grpcio and runs with /usr/bin/python3. The Python
stubs are generated at start-up from protos/ into a temporary directory (with
Debian's protoc and grpc_python_plugin, packages protobuf-compiler and
protobuf-compiler-grpc; python3-grpc-tools' bundled protoc is too old for
proto3 `optional`), so nothing generated is checked in.

The first ListTargets call fixes the run; every next_page_token stays on it,
so a run published while paging does not mix lists.
"""
import argparse
import signal
import csv
import importlib
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_stubs(tmp):
    """Compiles protos/winback/v1/campaigns.proto into `tmp`; returns the
    (messages, services) modules."""
    import subprocess

    proto_dir = os.path.join(REPO, "protos")
    plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
    args = [shutil.which("protoc") or "/usr/bin/protoc", "-I" + proto_dir,
            "-I/usr/include", "--python_out=" + tmp, "--grpc_python_out=" + tmp,
            "--plugin=protoc-gen-grpc_python=" + plugin,
            os.path.join(proto_dir, "winback/v1/campaigns.proto")]
    if subprocess.call(args) != 0:
        sys.exit("page_targets: protoc failed on protos/winback/v1/campaigns.proto")
    sys.path.insert(0, tmp)
    return (importlib.import_module("winback.v1.campaigns_pb2"),
            importlib.import_module("winback.v1.campaigns_pb2_grpc"))


def main():
    # Behave like a Unix filter when the reader goes away (| head).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--addr", default="127.0.0.1:50051")
    p.add_argument("--key", default=os.environ.get("WINBACK_API_KEY", ""),
                   help="API key (default: $WINBACK_API_KEY)")
    p.add_argument("--campaign", required=True)
    p.add_argument("--run", type=int, default=0, help="0: latest published")
    p.add_argument("--page-size", type=int, default=0, help="0: server default")
    p.add_argument("--out", help="CSV file (default: stdout)")
    args = p.parse_args()

    import grpc

    with tempfile.TemporaryDirectory(prefix="winback-stubs-") as tmp:
        pb, pb_grpc = load_stubs(tmp)
        channel = grpc.insecure_channel(args.addr)
        stub = pb_grpc.CampaignServiceStub(channel)
        metadata = [("authorization", "Bearer " + args.key)] if args.key else []

        out = writer = None
        request = pb.ListTargetsRequest(campaign=args.campaign, run_id=args.run,
                                        page_size=args.page_size)
        rows = pages = 0
        run_id = None
        while True:
            try:
                page = stub.ListTargets(request, metadata=metadata, timeout=30)
            except grpc.RpcError as e:
                sys.exit("page_targets: %s: %s" % (e.code().name, e.details()))
            run_id = page.run_id
            pages += 1
            if writer is None:
                # Once the list is known to exist: a failed call writes no
                # file and no header.
                out = open(args.out, "w", newline="") if args.out else sys.stdout
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(["customer_id", "campaign", "segment",
                                 "churn_score", "revenue_at_risk", "group",
                                 "promo_code", "reasons"])
            for t in page.targets:
                writer.writerow([
                    t.customer_id, t.campaign, t.segment,
                    "%.6f" % t.churn_score, "%.2f" % t.revenue_at_risk,
                    "holdout" if t.group == pb.TARGET_GROUP_HOLDOUT else "treatment",
                    t.promo_code,
                    "; ".join("%s %+.3f" % (r.feature, r.contribution)
                              for r in t.reasons)])
                rows += 1
            if not page.next_page_token:
                break
            request = pb.ListTargetsRequest(campaign=args.campaign,
                                            page_size=args.page_size,
                                            page_token=page.next_page_token)
        if args.out:
            out.close()
        print("page_targets: %d rows of %s from run %d in %d pages"
              % (rows, args.campaign, run_id, pages), file=sys.stderr)


if __name__ == "__main__":
    main()
