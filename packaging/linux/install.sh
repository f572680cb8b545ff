#!/usr/bin/env bash
# Install ccdstudio for the current user, without admin rights.
#
#   ./install.sh                 # into ~/.local/opt/ccdstudio, command ~/.local/bin/ccdstudio
#   ./install.sh --prefix DIR    # into DIR/opt/ccdstudio, command DIR/bin/ccdstudio, menu entry in DIR/share
#
# Adds a menu entry, the icon and the FITS file type (image/fits), opened with ccdstudio unless the user
# already chose another program. Installing again upgrades in place. Remove with
# ~/.local/opt/ccdstudio/uninstall.sh (or DIR/opt/ccdstudio/uninstall.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix="$HOME/.local"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
# Menu entries follow XDG_DATA_HOME for the default prefix; an explicit prefix keeps everything inside it.
if [ "$prefix" = "$HOME/.local" ]; then data=${XDG_DATA_HOME:-$HOME/.local/share}; else data=$prefix/share; fi
opt=$prefix/opt/ccdstudio
bin=$prefix/bin

[ -x "$here/ccdstudio/ccdstudio" ] || { echo "install.sh: no bundle at $here/ccdstudio" >&2; exit 1; }

# Copy beside the old version, then swap, so a failed copy leaves the installed app as it was.
mkdir -p "$prefix/opt" "$bin"
rm -rf "$opt.new"
cp -a "$here/ccdstudio" "$opt.new"
cp -a "$here/share" "$here/uninstall.sh" "$opt.new/"
printf 'prefix=%q\ndata=%q\n' "$prefix" "$data" > "$opt.new/install-paths"
rm -rf "$opt.old"
[ -e "$opt" ] && mv "$opt" "$opt.old"
mv "$opt.new" "$opt"
rm -rf "$opt.old"

ln -sfn "$opt/ccdstudio" "$bin/ccdstudio"

mkdir -p "$data/applications" "$data/mime/packages" "$data/icons/hicolor/scalable/apps"
sed "s|@EXEC@|$opt/ccdstudio|g" "$here/share/ccdstudio.desktop" > "$data/applications/ccdstudio.desktop"
cp "$here/share/ccdstudio-fits.xml" "$data/mime/packages/ccdstudio-fits.xml"
cp "$here/share/icons/ccdstudio.svg" "$data/icons/hicolor/scalable/apps/ccdstudio.svg"
for png in "$here"/share/icons/ccdstudio-*.png; do
    size=$(basename "$png" .png); size=${size#ccdstudio-}
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$data/icons/hicolor/${size}x${size}/apps/ccdstudio.png"
done

# Refresh the desktop's caches where the tools exist (a minimal system may have none; the files still work).
command -v update-mime-database >/dev/null && update-mime-database "$data/mime" >/dev/null 2>&1 || true
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" >/dev/null 2>&1 || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" >/dev/null 2>&1 || true
if command -v xdg-mime >/dev/null && [ -z "$(xdg-mime query default image/fits 2>/dev/null)" ]; then
    xdg-mime default ccdstudio.desktop image/fits >/dev/null 2>&1 || true
fi

echo "ccdstudio installed in $opt"
case ":$PATH:" in
    *":$bin:"*) echo "run it from the menu or with: ccdstudio" ;;
    *) echo "run it from the menu or with: $bin/ccdstudio   ($bin is not on your PATH)" ;;
esac
echo "check it with: $bin/ccdstudio --self-test"
