#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds from the workspace's own fixtures (nothing is copied
# into the repository): Kommo webhook bodies, Loops webhook bodies (as the loops_webhook
# target reads them: id NUL timestamp NUL body), and rules files.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
mkdir -p "$corpus/kommo_webhook" "$corpus/loops_webhook" "$corpus/rules"

n=0
for f in kommo-client/tests/fixtures/kommo/*.form kommo-loops-bridge/tests/golden/*/body.form; do
  n=$((n + 1))
  cp "$f" "$corpus/kommo_webhook/seed-$n"
done

n=0
for f in loops-client/tests/fixtures/webhook.*.json kommo-loops-bridge/tests/golden/*/loops.json; do
  n=$((n + 1))
  # "msg_..." starts with an odd byte: the target signs it, so the parser is reached. The
  # timestamp is the target's fixed "now".
  { printf 'msg_seed_%s\0001767229200\000' "$n"; cat "$f"; } >"$corpus/loops_webhook/seed-$n"
done

n=0
for f in examples/rules/*.toml kommo-loops-bridge/tests/golden/*/rules.toml; do
  n=$((n + 1))
  cp "$f" "$corpus/rules/seed-$n"
done
# Inputs the fuzzers found once (fuzz/seeds/<target>/): kept so every run tries them again.
for target in kommo_webhook loops_webhook rules; do
  if [ -d "fuzz/seeds/$target" ]; then
    cp fuzz/seeds/"$target"/* "$corpus/$target/"
  fi
done
for target in kommo_webhook loops_webhook rules; do
  echo "$target: $(ls "$corpus/$target" | wc -l) seeds"
done
# The onboarding rules as JSON too, for Rules::from_json_str.
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))' \
    examples/rules/saas-onboarding.toml >"$corpus/rules/seed-json-1" 2>/dev/null || rm -f "$corpus/rules/seed-json-1"
fi
