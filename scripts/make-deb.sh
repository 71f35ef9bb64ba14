#!/usr/bin/env bash
# scripts/make-deb.sh [OUTDIR]: build the Debian packages pooled and
# pooled-dev as a distribution would, from the release tarball: "make
# dist" in a scratch build, the tarball as pooled_VERSION.orig.tar.gz,
# contrib/debian/ copied to debian/ in its unpacked tree, then
# dpkg-buildpackage (source and binaries, unsigned) and lintian, which
# must report no error.  The .deb, .dsc, .changes and the rest land in
# OUTDIR (deb/ at the top of the source tree).  "make deb" in a build
# directory calls this.  Installs what is missing first (POOLED_DEPS,
# POOLED_DEB_DEPS in scripts/deps.sh).
#
# POOLED_DEB_REVISION=N builds Debian revision N (VERSION-N) instead of
# the changelog's, with a changelog entry of its own: scripts/test-deb.sh
# makes an upgrade with it.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
out=${1:-$top/deb}
. scripts/deps.sh

deps_install "${POOLED_DEPS[@]}" "${POOLED_DEB_DEPS[@]}"
[ -x configure ] || ./autogen.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/pooled-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/dist"
(cd "$work/dist" && "$top/configure" -q && make -s dist) >"$work/dist.log" 2>&1 ||
    { cat "$work/dist.log" >&2; echo "make-deb: make dist failed" >&2; exit 1; }
tarball=$(ls "$work"/dist/pooled-*.tar.gz)
version=${tarball##*/pooled-}
version=${version%.tar.gz}
cp "$tarball" "$work/pooled_$version.orig.tar.gz"
tar -C "$work" -xzf "$tarball"
src=$work/pooled-$version
cp -r "$src/contrib/debian" "$src/debian"

if [ -n "${POOLED_DEB_REVISION:-}" ]; then
	{
		printf 'pooled (%s-%s) unstable; urgency=medium\n\n' "$version" \
		    "$POOLED_DEB_REVISION"
		printf '  * Rebuild as revision %s.\n\n' "$POOLED_DEB_REVISION"
		printf ' -- pooled developers <pooled@example.org>  %s\n\n' \
		    "$(date -R)"
		cat "$src/debian/changelog"
	} >"$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
fi

echo "make-deb: dpkg-buildpackage in $src"
(cd "$src" && dpkg-buildpackage -us -uc) >"$work/build.log" 2>&1 ||
    { tail -n 60 "$work/build.log" >&2
      echo "make-deb: dpkg-buildpackage failed" >&2; exit 1; }
changes=$(ls "$work"/pooled_*.changes)
echo "make-deb: lintian $(basename "$changes")"
if ! lintian --fail-on error "$changes"; then
	echo "make-deb: lintian reports errors" >&2
	exit 1
fi
mkdir -p "$out"
find "$work" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.dsc' -o \
    -name '*.changes' -o -name '*.buildinfo' -o -name '*.debian.tar.*' -o \
    -name '*.orig.tar.*' \) -exec cp {} "$out/" \;
ls "$out"
