#!/bin/bash
# Run one fuzzer once over every file of its corpus and regression directories (no fuzzing, no
# new files written): what the 'fuzz' test suite does.
set -euo pipefail
exe=$1
shift
files=()
for d in "$@"; do
    [ -d "$d" ] || continue
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f ! -name '*.md' -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
    echo "no inputs in $*" >&2
    exit 1
fi
echo "running $(basename "$exe") on ${#files[@]} inputs"
# libFuzzer exits 77 on a finding by default, which meson would count as a skip
exec "$exe" -runs=1 -error_exitcode=1 -timeout_exitcode=1 -timeout=60 "${files[@]}"
