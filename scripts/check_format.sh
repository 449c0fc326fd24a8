#!/usr/bin/env bash
# Format gate: every tracked C/C++ file of framework/ plugins/ sdk/ tests/ bench/ fuzz/ examples/ tools/ must
# be as clang-format (.clang-format at the root) writes it. Fails listing the files that are not, with the
# first differences; `scripts/check_format.sh --fix` rewrites them instead.
# CLANG_FORMAT overrides the binary (default clang-format-14, the version .clang-format is tuned for).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "check_format: $CLANG_FORMAT not found (apt-get install clang-format-14, or scripts/setup.sh)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files -- framework plugins sdk tests bench fuzz examples tools |
                     grep -E '\.(c|h|cc|cpp|hpp)$')
if [[ "${1:-}" == "--fix" ]]; then
  printf '%s\0' "${files[@]}" | xargs -0 -P "$(nproc)" -n 16 "$CLANG_FORMAT" -i --style=file
  exit 0
fi

# One clang-format per file in parallel; each prints "file:line:col: error: code should be clang-formatted".
report=$(printf '%s\0' "${files[@]}" |
         xargs -0 -P "$(nproc)" -n 16 "$CLANG_FORMAT" --dry-run --Werror --style=file 2>&1 || true)
offenders=$(grep -oE '^[^ :][^:]*:[0-9]+:[0-9]+: error' <<<"$report" | cut -d: -f1 | sort -u || true)
if [[ -n "$offenders" ]]; then
  count=$(wc -l <<<"$offenders")
  echo "check_format: $count of ${#files[@]} files are not clang-formatted (scripts/check_format.sh --fix):" >&2
  sed 's/^/  /' <<<"$offenders" >&2
  echo "first lines to change (file:line):" >&2
  grep -oE '^[^ :][^:]*:[0-9]+:' <<<"$report" | uniq | sed -n '1,20s/^/  /p' >&2
  exit 1
fi
if grep -q . <<<"$report"; then  # clang-format itself failed (a bad .clang-format, an unreadable file)
  echo "$report" >&2
  exit 2
fi
echo "check_format: ${#files[@]} files formatted"
