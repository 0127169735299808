#!/usr/bin/env bash
# The man page of a tool lists exactly the options its --help lists (long and short forms), and
# renders without groff warnings.
#   check-man.sh PROGRAM PAGE.1
set -euo pipefail
prog=$1 page=$2
# --help: option lines are indented and start with -x, or --name.
help_opts=$("$prog" --help | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z-]*' | grep -oE -- '-[A-Za-z]\b|--[a-z][a-z-]*' | sort -u)
# The page: the .TP tag line after each .TP, with roff's \- turned into -.
man_opts=$(awk 'prev == ".TP" { print } { prev = $0 }' "$page" | sed 's/\\-/-/g' |
  grep -oE -- '(^|[ "])--?[A-Za-z][a-z-]*' | grep -oE -- '--?[A-Za-z][a-z-]*' | sort -u)
if [ "$help_opts" != "$man_opts" ]; then
  echo "options differ between $prog --help and $page:" >&2
  diff <(echo "$help_opts") <(echo "$man_opts") >&2 || true
  exit 1
fi
echo "$(echo "$help_opts" | wc -l) options match"
if command -v groff >/dev/null; then
  warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
  [ -z "$warnings" ] || { echo "$warnings" >&2; exit 1; }
fi
