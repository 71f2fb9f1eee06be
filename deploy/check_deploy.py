#!/usr/bin/python3
"""Structural checks of the deployment files (ctest label `deploy`).

  check_deploy.py k8s DIR         every *.yaml parses and the Deployment,
                                  Service, ConfigMap, Secret and PVC carry the
                                  fields winbackd needs
  check_deploy.py docker FILE     FROM debian:12..., multi-stage, no
                                  curl/wget downloads, runs winbackd
  check_deploy.py alerts FILE SRC a Prometheus rule file whose alerts each
                                  have expr, labels.severity and a summary,
                                  and whose winback_* metrics are all
                                  registered in SRC (services/metrics.cc)

Exits 0 when fine, 1 with the problems listed, 77 (skipped) when python3-yaml
is missing.
"""
import glob
import os
import re
import sys

problems = []


def need(cond, message):
    if not cond:
        problems.append(message)
    return cond


def dig(obj, *path):
    for p in path:
        if isinstance(p, int):
            if not isinstance(obj, list) or len(obj) <= p:
                return None
        elif not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    return obj


def check_k8s(directory):
    try:
        import yaml
    except ImportError:
        print("SKIP: python3-yaml is not installed")
        sys.exit(77)
    docs = {}
    files = sorted(glob.glob(os.path.join(directory, "*.yaml")))
    need(files, "no *.yaml in " + directory)
    for path in files:
        try:
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if doc is None:
                        continue
                    name = os.path.basename(path)
                    need(isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc,
                         "%s: a document without apiVersion/kind" % name)
                    if doc.get("kind") != "Kustomization":
                        need(dig(doc, "metadata", "name"),
                             "%s: %s without metadata.name" % (name, doc.get("kind")))
                    docs.setdefault(doc.get("kind"), []).append(doc)
        except yaml.YAMLError as e:
            problems.append("%s: not valid YAML: %s" % (path, e))
    for kind in ("Deployment", "Service", "ConfigMap", "Secret",
                 "PersistentVolumeClaim"):
        need(kind in docs, "no %s manifest" % kind)
    if problems:
        return

    dep = docs["Deployment"][0]
    spec = dig(dep, "spec", "template", "spec")
    labels = dig(dep, "spec", "template", "metadata", "labels") or {}
    need(dig(dep, "spec", "selector", "matchLabels") and
         all(labels.get(k) == v for k, v in dig(dep, "spec", "selector", "matchLabels").items()),
         "Deployment: selector does not match the pod labels")
    need(dig(dep, "spec", "replicas") == 1, "Deployment: SQLite needs exactly 1 replica")
    need(dig(dep, "spec", "strategy", "type") == "Recreate",
         "Deployment: strategy must be Recreate (ReadWriteOnce volume, one writer)")
    c = dig(spec, "containers", 0) or {}
    need(c.get("image"), "Deployment: container without image")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    need("grpc" in ports, "Deployment: no container port named grpc")
    for probe in ("readinessProbe", "livenessProbe"):
        need(dig(c, probe, "grpc", "port") == ports.get("grpc"),
             "Deployment: %s must be a grpc probe on the gRPC port" % probe)
    secret_names = {dig(s, "metadata", "name") for s in docs["Secret"]}
    env_secrets = {dig(e, "secretRef", "name") for e in c.get("envFrom", [])}
    env_secrets |= {dig(e, "valueFrom", "secretKeyRef", "name") for e in c.get("env", [])}
    need(env_secrets & secret_names, "Deployment: API keys must come from the Secret")
    volumes = {v.get("name"): v for v in spec.get("volumes", [])}
    mounts = {m.get("name"): m.get("mountPath") for m in c.get("volumeMounts", [])}
    pvc_names = {dig(p, "metadata", "name") for p in docs["PersistentVolumeClaim"]}
    cm_names = {dig(m, "metadata", "name") for m in docs["ConfigMap"]}
    pvc_vol = [n for n, v in volumes.items()
               if dig(v, "persistentVolumeClaim", "claimName") in pvc_names]
    cm_vol = [n for n, v in volumes.items() if dig(v, "configMap", "name") in cm_names]
    need(pvc_vol and pvc_vol[0] in mounts, "Deployment: the PVC is not mounted")
    need(cm_vol and cm_vol[0] in mounts, "Deployment: the ConfigMap is not mounted")
    if cm_vol and cm_vol[0] in mounts:
        args = " ".join(c.get("args", []) + c.get("command", []))
        need(mounts[cm_vol[0]] in args, "Deployment: --config is not under the ConfigMap mount")
    need(dig(c, "securityContext", "allowPrivilegeEscalation") is False,
         "Deployment: allowPrivilegeEscalation must be false")

    cm = docs["ConfigMap"][0]
    text = dig(cm, "data", "winback.yaml")
    if need(text, "ConfigMap: no winback.yaml key"):
        conf = yaml.safe_load(text)
        need(dig(conf, "data", "dir") and dig(conf, "store", "path"),
             "ConfigMap: data.dir and store.path are required")
        listen = str(dig(conf, "service", "listen") or "")
        need(listen.endswith(":%s" % ports.get("grpc")) and not listen.startswith("127."),
             "ConfigMap: service.listen must listen on all interfaces at the grpc port")
        need(str(dig(conf, "store", "path") or "").startswith(mounts.get(pvc_vol[0] if pvc_vol else "", "?")),
             "ConfigMap: store.path must be on the PVC mount")
        need("api_keys" not in text.replace("api_keys_env", "").replace("api_keys_file", ""),
             "ConfigMap: keys must not be in the YAML")

    svc = docs["Service"][0]
    sel = dig(svc, "spec", "selector") or {}
    need(sel and all(labels.get(k) == v for k, v in sel.items()),
         "Service: selector does not match the pod labels")
    targets = {p.get("targetPort") for p in dig(svc, "spec", "ports") or []}
    need("grpc" in targets or ports.get("grpc") in targets,
         "Service: no port targets the gRPC port")
    pvc = docs["PersistentVolumeClaim"][0]
    need(dig(pvc, "spec", "resources", "requests", "storage"),
         "PersistentVolumeClaim: no storage request")
    need("ReadWriteOnce" in (dig(pvc, "spec", "accessModes") or []),
         "PersistentVolumeClaim: ReadWriteOnce expected")
    sec = docs["Secret"][0]
    need("WINBACK_API_KEYS" in (sec.get("stringData") or sec.get("data") or {}),
         "Secret: no WINBACK_API_KEYS")


def check_docker(path):
    with open(path) as f:
        text = f.read()
    lines = [l.strip() for l in text.splitlines()]
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    need(froms and re.match(r"FROM\s+debian:12\b", froms[0]),
         "Dockerfile: the first stage must be FROM debian:12...")
    need(all(re.match(r"FROM\s+debian:12\b", l) for l in froms),
         "Dockerfile: every stage must be based on debian:12")
    need(len(froms) >= 2, "Dockerfile: expected a multi-stage build")
    need(any("COPY --from=" in l for l in lines),
         "Dockerfile: the runtime stage must copy the build output")
    code = "\n".join(l for l in lines if not l.startswith("#"))
    need(not re.search(r"\b(curl|wget)\b", code), "Dockerfile: no curl/wget downloads")
    need(not re.search(r"^\s*ADD\s+https?://", code, re.M),
         "Dockerfile: no ADD of remote URLs")
    runtime = code[code.rfind("FROM "):]
    need("build-essential" not in runtime and "-dev" not in runtime,
         "Dockerfile: the runtime stage must not install build tools or -dev packages")
    need("winbackd" in runtime and ("ENTRYPOINT" in runtime or "CMD" in runtime),
         "Dockerfile: the runtime stage must run winbackd")
    need(re.search(r"^USER\s+(?!root|0\b)", runtime, re.M),
         "Dockerfile: the runtime stage must not run as root")
    need("tzdata" in runtime, "Dockerfile: tzdata is needed for schedule.time_zone")


def check_alerts(path, metrics_source):
    try:
        import yaml
    except ImportError:
        print("SKIP: python3-yaml is not installed")
        sys.exit(77)
    with open(metrics_source) as f:
        registered = set(re.findall(r'\.Name\("(winback_\w+)"\)', f.read()))
    need(registered, "%s: no metric names found" % metrics_source)
    with open(path) as f:
        try:
            doc = yaml.safe_load(f)
        except yaml.YAMLError as e:
            problems.append("%s: not valid YAML: %s" % (path, e))
            return
    rules = [r for g in dig(doc, "groups") or [] for r in g.get("rules") or []]
    need(rules, "%s: no groups[].rules[]" % path)
    for r in rules:
        name = r.get("alert") or "?"
        expr = str(r.get("expr") or "")
        need(r.get("alert") and expr, "%s: a rule without alert and expr" % path)
        need(dig(r, "labels", "severity") in ("page", "ticket"),
             "%s: severity must be page or ticket" % name)
        need(dig(r, "annotations", "summary"), "%s: no annotations.summary" % name)
        need(expr.count("(") == expr.count(")"), "%s: unbalanced parentheses" % name)
        for metric in re.findall(r"\bwinback_\w+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", metric)
            need(metric in registered or base in registered,
                 "%s: %s is not a metric winbackd exports" % (name, metric))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "alerts":
        check_alerts(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] in ("k8s", "docker"):
        (check_k8s if sys.argv[1] == "k8s" else check_docker)(sys.argv[2])
    else:
        sys.exit(__doc__)
    for p in problems:
        print("FAIL:", p)
    if problems:
        sys.exit(1)
    print("OK:", sys.argv[2])


if __name__ == "__main__":
    main()
