#!/usr/bin/env bash
# Mutation testing of the pure billing math with mutmut (issue 15). Not part of ci/test.sh.
#
# Mutates only the modules in [tool.mutmut] only_mutate (pyproject.toml): pricing, periods,
# proration, the credit ledger, and the pure math at the top of the emulator's billing.py
# (its settings, timers and engine below the `# pragma: no mutate block` are left alone),
# and runs only the fast tests against the mutants (tests/unit and the emulator's
# tests/emulator/test_proration_properties.py and test_billing_exact.py). One worker, a fresh
# run every time, Hypothesis derandomized so the score is reproducible.
#
# Prints killed / total and the score, the survivors (equivalents are listed with reasons in
# docs/MUTATION.md), and exits 1 when the score is below MUTATION_MIN_SCORE (default 90).
# Assumes `bash ci/setup.sh` has run (a .venv with the dev extras, which include mutmut).
set -euo pipefail
cd "$(dirname "$0")/.."

min_score=${MUTATION_MIN_SCORE:-90}
if [ ! -x .venv/bin/mutmut ]; then
  echo "ci/mutation.sh: .venv/bin/mutmut is missing; run 'bash ci/setup.sh' first" >&2
  exit 2
fi
export PATH="$PWD/.venv/bin:$PATH"
export RSOLV_HYPOTHESIS_PROFILE=rsolv-mutation

# mutmut keeps verdicts in mutants/ and would report old ones for unchanged code.
rm -rf mutants
started=$(date +%s)
log=$(mktemp)
echo "== mutmut $(mutmut --version 2>/dev/null | awk '{print $NF}') over the pure billing math (1 worker)"
if ! mutmut run --max-children 1 >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "ci/mutation.sh: mutmut run failed (log: $log)" >&2
  exit 2
fi
mv "$log" mutants/mutmut-run.log
elapsed=$(($(date +%s) - started))

mutmut results --all true >mutants/results.txt
python3 - "$min_score" "$elapsed" <<'PY'
import re
import sys
from collections import Counter, defaultdict

min_score, elapsed = float(sys.argv[1]), int(sys.argv[2])
status_by_mutant = {}
for line in open("mutants/results.txt", encoding="utf-8"):
    name, _, status = line.strip().rpartition(": ")
    if name:
        status_by_mutant[name] = status

counts = Counter(status_by_mutant.values())
by_module = defaultdict(Counter)
for name, status in status_by_mutant.items():
    module = re.sub(r"\.x[_ǁ].*$", "", name)
    by_module[module][status] += 1

total = len(status_by_mutant)
# A mutant that never finishes (a loop that no longer ends) is detected, not survived.
detected = counts["killed"] + counts["timeout"] + counts["caught by type check"]
score = 100 * detected / total if total else 0.0
print()
for module, module_counts in sorted(by_module.items()):
    module_total = sum(module_counts.values())
    module_detected = module_counts["killed"] + module_counts["timeout"]
    print(f"  {module:40} {module_detected:4} / {module_total:4} detected")
print()
print("  " + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
survivors = sorted(n for n, s in status_by_mutant.items() if s not in ("killed", "timeout"))
if survivors:
    print("  not detected (see docs/MUTATION.md; `.venv/bin/mutmut show NAME` shows the change):")
    for name in survivors:
        print(f"    {name}: {status_by_mutant[name]}")
print()
print(f"mutation score: {detected} / {total} detected = {score:.1f}% (killed {counts['killed']},"
      f" timeouts {counts['timeout']}); gate {min_score:g}%; {elapsed} s")
sys.exit(0 if total and score >= min_score else 1)
PY
