#!/usr/bin/env bash
# docs/ARCHITECTURE.md's "The tree" names every folder of the repository
# (fuzz corpora aside), and names no folder that is gone.
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"
doc=docs/ARCHITECTURE.md
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  folders=$(git ls-files | xargs -n1 dirname | sort -u)
else
  folders=$(find . -type f -not -path './build*' -not -path './.git/*' -printf '%h\n' | sed 's|^\./||' | sort -u)
fi
section=$(sed -n '/^## The tree/,/^## /p' "$doc")
status=0
while read -r d; do
  case "$d" in .|tests/fuzz/corpus*|Testing*) continue ;; esac
  grep -qF "| \`$d/\` |" <<<"$section" || { echo "$doc does not describe the folder $d/"; status=1; }
done <<<"$folders"
while read -r d; do
  [ -d "$d" ] || { echo "$doc describes $d/, which does not exist"; status=1; }
done < <(sed -n 's/^| `\([^`]*\)\/` |.*/\1/p' <<<"$section")
exit $status
