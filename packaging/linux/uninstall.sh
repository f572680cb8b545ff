#!/usr/bin/env bash
# Remove a per-user ccdstudio installed by install.sh: the app, its command, menu entry, icons and FITS type.
# Run the copy inside the installation: ~/.local/opt/ccdstudio/uninstall.sh. User data and settings stay.
set -euo pipefail

opt=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -f "$opt/install-paths" ] || { echo "uninstall.sh: run the copy in the installed folder" >&2; exit 1; }
# shellcheck source=/dev/null
. "$opt/install-paths"

# The command link only if it still points here: another ccdstudio may have replaced it.
if [ -L "$prefix/bin/ccdstudio" ] && [ "$(readlink "$prefix/bin/ccdstudio")" = "$opt/ccdstudio" ]; then
    rm -f "$prefix/bin/ccdstudio"
fi
rm -f "$data/applications/ccdstudio.desktop" "$data/mime/packages/ccdstudio-fits.xml"
rm -f "$data"/icons/hicolor/*/apps/ccdstudio.png "$data/icons/hicolor/scalable/apps/ccdstudio.svg"
command -v update-mime-database >/dev/null && update-mime-database "$data/mime" >/dev/null 2>&1 || true
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" >/dev/null 2>&1 || true
rm -rf "$opt"
echo "ccdstudio removed from $opt"
