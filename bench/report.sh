# Sourced by the bench scripts: number formatting, key=value lookup and the
# common end of a report (table, machine line, reference check, last line).
# Globals used by finish_report: rows, summary, slow_reference, load_before.

val() { sed -n "s/^$1=//p" <<<"$2" | head -1; }
fmt() {  # 12345.6 -> 12,346
  if [ -n "$1" ] && [ "$1" != failed ]; then printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; else printf '%s' "${1:-n/a}"; fi
}

# finish_report <title> <table header> <why a slow reference is meaningless> <last-line label>
# Prints the report and returns 3 when a reference was not faster than Herald.
finish_report() {
  local title=$1 header=$2 why=$3 label=$4 columns
  echo "$title"
  echo
  echo "$header"
  columns=$(tr -cd '|' <<<"$header")
  printf '%s\n' "$(sed 's/|/|---/g; s/---$//' <<<"$columns")"
  printf '%s\n' "${rows[@]}"
  echo
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  local status=0 m
  if [ ${#slow_reference[@]} -gt 0 ]; then
    status=3
    for m in "${slow_reference[@]}"; do
      # Twice, not through `tee /dev/stderr`: reopening a redirected stderr
      # file truncates it, losing what the run wrote there before.
      echo "!!! REFERENCE NOT FASTER THAN HERALD ($m): $why, the ratio is meaningless"
      echo "!!! REFERENCE NOT FASTER THAN HERALD ($m): $why, the ratio is meaningless" >&2
    done
  fi
  # Last line: Herald's rate, the reference measured in the same run, their ratio.
  local last
  last=$(printf '%s; ' "${summary[@]}")
  echo "$label: ${last%; }"
  return $status
}
