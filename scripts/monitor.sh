#!/usr/bin/env bash
# `make monitor`: the local run (`make dev`, same settings) with its metrics in Prometheus.
# The functions' output goes through monitoring/emf_exporter.py, which prints it unchanged and
# serves their EMF documents as Prometheus series; Prometheus scrapes it every 5 s and
# evaluates monitoring/alerts.yml, the twins of terraform/monitoring.tf's alarms.
#
# PROMETHEUS_PORT (9090) and EXPORTER_PORT (9464) move the two servers, both on 127.0.0.1;
# OASIS_ALERT_RULES names another rules file (the end-to-end test lowers a threshold in a copy).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
prometheus_port=${PROMETHEUS_PORT:-9090}
exporter_port=${EXPORTER_PORT:-9464}
rules=${OASIS_ALERT_RULES:-$root/monitoring/alerts.yml}
command -v prometheus >/dev/null || { echo "make monitor: prometheus is missing (make monitoring-tools, or apt-get install prometheus)" >&2; exit 1; }
if ! busy=$(python3 scripts/port-free.py "$prometheus_port" "$exporter_port" "${PORT:-9000}" 2>&1); then
  echo "make monitor: $busy (PROMETHEUS_PORT, EXPORTER_PORT and PORT move the servers)" >&2
  exit 1
fi
monitor=${OASIS_DEV_DIR:-$root/.oasis}/monitor
mkdir -p "$monitor"
cat > "$monitor/prometheus.yml" <<YML
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: ["$rules"]
scrape_configs:
  - job_name: oasis
    static_configs: [{targets: ["127.0.0.1:$exporter_port"]}]
YML
prometheus --config.file="$monitor/prometheus.yml" --storage.tsdb.path="$monitor/data" \
  --web.listen-address="127.0.0.1:$prometheus_port" > "$monitor/prometheus.log" 2>&1 &
prometheus_pid=$!
trap 'kill "$prometheus_pid" 2>/dev/null || true' EXIT
# A rules file it cannot load, a data directory it cannot lock: say so, not "Prometheus on ...".
for _ in $(seq 100); do
  kill -0 "$prometheus_pid" 2>/dev/null || { echo "make monitor: Prometheus did not start:" >&2; tail -5 "$monitor/prometheus.log" >&2; exit 1; }
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$prometheus_port/-/ready" && break
  sleep 0.2
done
echo "Prometheus on http://127.0.0.1:$prometheus_port (graphs: /graph, alerts: /alerts; log: $monitor/prometheus.log)"
scripts/dev.sh 2>&1 | python3 -u monitoring/emf_exporter.py --port "$exporter_port"
