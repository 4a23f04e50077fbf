#!/usr/bin/env bash
# A real extraction: the bundled sandbox (PROVIDER: cybersource or revolv3) -> tap-invoicing ->
# target-jsonl -> output/*.jsonl
set -euo pipefail
VENV=${VENV:-.venv}
TARGET_VENV=${TARGET_VENV:-.venv-target}
INVOICES=${INVOICES:-500}
PROVIDER=${PROVIDER:-cybersource}

rm -rf output && mkdir -p output
"$VENV/bin/tap-invoicing-sandbox" --provider "$PROVIDER" --invoices "$INVOICES" --seed 1 \
  --write-config output/tap-config.json &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s output/tap-config.json ] && break; sleep 0.1; done

echo '{"destination_path": "output", "do_timestamp_file": false}' > output/target-config.json
"$VENV/bin/tap-invoicing" --config output/tap-config.json 2> output/tap.log \
  | "$TARGET_VENV/bin/target-jsonl" --config output/target-config.json > output/state.json

echo "Records written per stream:"
for file in output/*.jsonl; do
  printf '  %-28s %s\n' "$(basename "$file" .jsonl)" "$(wc -l < "$file")"
done
echo "State for the next run: output/state.json (tap log: output/tap.log)"
