#!/usr/bin/env bash
# Fetches oneTBB's source from Debian (the source package of the installed libtbb-dev, through apt's deb-src
# index in a private apt folder: the system's apt configuration is left alone) and unpacks it with Debian's
# patches into .cache/onetbb-src. Only the ThreadSanitizer preset builds from it (cmake/tsan-onetbb): TSan
# sees synchronization only in instrumented code, and Debian's libtbb binary is not instrumented.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/onetbb-src"
VERSION="$(dpkg-query -W -f='${source:Version}' libtbb-dev)"
if [ -f "$DEST/.version" ] && [ "$(cat "$DEST/.version")" = "$VERSION" ]; then
  echo "fetch_onetbb_source: ready ($DEST, onetbb $VERSION)"
  exit 0
fi
WORK="$ROOT/.cache/onetbb-apt"
rm -rf "$WORK" "$DEST"
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/parts" "$WORK/pkg"
# Two stanzas: the security suite lives under its own URI.
cat > "$WORK/parts/debian-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT=(apt-get -qq -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$WORK/parts"
     -o Dir::State::Lists="$WORK/lists" -o Dir::Cache="$WORK/cache" -o APT::Sandbox::User=root)
"${APT[@]}" update
(cd "$WORK/pkg" && "${APT[@]}" source --download-only "onetbb=$VERSION")
dpkg-source --no-check -x "$WORK"/pkg/onetbb_*.dsc "$DEST" >/dev/null
echo "$VERSION" > "$DEST/.version"
rm -rf "$WORK"
echo "fetch_onetbb_source: ready ($DEST, onetbb $VERSION)"
