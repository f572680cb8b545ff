#!/usr/bin/env bash
# Wrap the ccdstudio.app made by PyInstaller in a compressed disk image (called by packaging/build.py):
#
#   make_dmg.sh APP OUT VERSION FLAVOUR ARCH
#
# Writes OUT/ccdstudio-VERSION-macos-ARCH-FLAVOUR.dmg holding the app and a link to /Applications, so users
# drag it across (no admin rights needed to drop it in ~/Applications instead). The app is ad-hoc signed,
# which Apple silicon requires to run it at all; set CODESIGN_IDENTITY to sign for distribution instead
# (notarisation is a separate step with notarytool).
set -euo pipefail

[ $# -eq 5 ] || { sed -n '2,5s/^# \{0,1\}//p' "$0" >&2; exit 2; }
app=$1; out=$2; version=$3; flavour=$4; arch=$5
[ -d "$app/Contents/MacOS" ] || { echo "make_dmg.sh: $app is not an app bundle" >&2; exit 1; }

codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$app"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg=$out/ccdstudio-$version-macos-$arch-$flavour.dmg
rm -f "$dmg"
hdiutil create -volname "ccdstudio $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
echo "wrote $dmg"
