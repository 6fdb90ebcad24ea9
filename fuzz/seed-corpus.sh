#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the project's own inputs (the corpus directory is git-ignored:
# libFuzzer adds every new interesting input to it). Safe to run again: files are named by hash.
set -euo pipefail
cd "$(dirname "$0")/.."

seed() { # seed TARGET PREFIX FILE...
  local target=$1 prefix=$2
  shift 2
  mkdir -p "fuzz/corpus/$target"
  for f in "$@"; do
    local out
    out="fuzz/corpus/$target/seed-$(sha1sum "$f" | cut -c1-16)"
    { printf '%s' "$prefix"; cat "$f"; } >"$out"
  done
}

catalogues=(catalogue.yaml tests/fixtures/bad/*/catalogue.yaml tests/fixtures/seed-plan/catalogue.yaml
  tests/fixtures/split-catalogue/catalogue/*.yaml tests/fixtures/fuzz-regressions/base/catalogue.yaml)
environments=(environments/*.yaml tests/fixtures/bad/*/environments/*.yaml
  tests/fixtures/fuzz-regressions/base/environment.yaml)
manifests=(rendered/*/*.yaml tests/fixtures/lint/*/*/*.yaml)

existing() { for f in "$@"; do [ -f "$f" ] && printf '%s\n' "$f"; done; }
mapfile -t catalogues < <(existing "${catalogues[@]}")
mapfile -t environments < <(existing "${environments[@]}")
mapfile -t manifests < <(existing "${manifests[@]}")

# load: the first byte picks the file (`e`: environment file, anything else: catalogue).
seed load "c" "${catalogues[@]}"
seed load "e" "${environments[@]}"
seed build_pipeline "" "${catalogues[@]}"
seed lint_reader "" "${manifests[@]}"
# Regression inputs are raw fuzzer inputs already (see tests/fuzz_regressions.rs).
for t in load build_pipeline lint_reader; do
  for f in tests/fixtures/fuzz-regressions/"$t"/*; do
    case "$f" in *.exit) continue ;; esac
    [ -f "$f" ] && cp "$f" "fuzz/corpus/$t/regression-$(basename "$f")"
  done
done
for t in load build_pipeline lint_reader; do
  echo "fuzz/corpus/$t: $(ls "fuzz/corpus/$t" | wc -l) inputs"
done
