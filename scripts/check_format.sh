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

# clang-format each file in parallel and name the ones it would change: one short line per file, so the
# parallel writers cannot interleave (clang-format's own --dry-run diagnostics can).
export CLANG_FORMAT
offenders=$(printf '%s\0' "${files[@]}" | xargs -0 -P "$(nproc)" -n 8 bash -c '
  formatted=$(mktemp)
  trap "rm -f $formatted" EXIT
  for f; do
    if ! "$CLANG_FORMAT" --style=file "$f" >"$formatted"; then echo "!$f"
    elif ! cmp -s "$formatted" "$f"; then echo "$f"
    fi
  done' bash | sort)
if grep -q '^!' <<<"$offenders"; then  # clang-format itself failed (a bad .clang-format, an unreadable file)
  echo "check_format: $CLANG_FORMAT failed on:" >&2
  grep '^!' <<<"$offenders" | sed 's/^!/  /' >&2
  exit 2
fi
if [[ -n "$offenders" ]]; then
  echo "check_format: $(wc -l <<<"$offenders") of ${#files[@]} files are not clang-formatted" \
       "(scripts/check_format.sh --fix):" >&2
  sed 's/^/  /' <<<"$offenders" >&2
  first=$(head -1 <<<"$offenders")
  echo "the change clang-format makes to $first begins:" >&2
  "$CLANG_FORMAT" --style=file "$first" | diff "$first" - | sed -n '1,15s/^/  /p' >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
