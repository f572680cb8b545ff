#!/usr/bin/env bash
# Package a Linux bundle made by PyInstaller (called by packaging/build.py):
#
#   package.sh BUNDLE OUT VERSION FLAVOUR ARCH [--deb]
#
# OUT/ccdstudio-VERSION-linux-ARCH-FLAVOUR.tar.gz holds the bundle, install.sh/uninstall.sh (per user, no
# admin rights), the .desktop entry, the FITS MIME type and the icons. With --deb, also
# OUT/ccdstudio_VERSION_DEBARCH.deb (or ccdstudio-gpu_… for the GPU flavour), installing into /opt/ccdstudio.
set -euo pipefail

[ $# -ge 5 ] || { sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2; }
bundle=$(cd "$1" && pwd); out=$2; version=$3; flavour=$4; arch=$5; deb=${6:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
icons=$(cd "$here/../../resources/icons" && pwd)
[ -x "$bundle/ccdstudio" ] || { echo "package.sh: $bundle has no ccdstudio executable" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Hard links where the file system allows: the bundle is about a gigabyte and is only read. Everything is
# made readable by all, as installed programs are (a file written privately by a build step would
# otherwise be unreadable to users of the .deb).
copy_tree() { { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; } && chmod -R u+rwX,go+rX,go-w "$2"; }
gzip_tool() { if command -v pigz >/dev/null; then echo pigz; else echo gzip; fi; }

share_files() {  # share_files DIR: the desktop entry, MIME type and icons
    mkdir -p "$1/icons"
    cp "$here/ccdstudio.desktop" "$here/ccdstudio-fits.xml" "$1/"
    cp "$icons"/ccdstudio-*.png "$icons/ccdstudio.svg" "$1/icons/"
}

stage=$(mktemp -d "$out/.stage.XXXXXX")
name=ccdstudio-$version-linux-$arch-$flavour
trap 'rm -rf "$stage" "$out/$name.tar.gz.part"' EXIT
mkdir "$stage/$name"
copy_tree "$bundle" "$stage/$name/ccdstudio"
cp "$here/install.sh" "$here/uninstall.sh" "$stage/$name/"
chmod 755 "$stage/$name/install.sh" "$stage/$name/uninstall.sh"
share_files "$stage/$name/share"
tar -C "$stage" -cf - "$name" | "$(gzip_tool)" -6 > "$out/$name.tar.gz.part"
mv "$out/$name.tar.gz.part" "$out/$name.tar.gz"
echo "wrote $out/$name.tar.gz"

[ "$deb" = "--deb" ] || exit 0
command -v dpkg-deb >/dev/null || { echo "package.sh: --deb needs dpkg-deb" >&2; exit 1; }
case "$arch" in x86_64) debarch=amd64 ;; aarch64) debarch=arm64 ;; *) debarch=$arch ;; esac
package=ccdstudio; [ "$flavour" = gpu ] && package=ccdstudio-gpu
root=$stage/deb
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" "$root/usr/share/mime/packages"
copy_tree "$bundle" "$root/opt/ccdstudio"
ln -s /opt/ccdstudio/ccdstudio "$root/usr/bin/ccdstudio"
sed "s|@EXEC@|/opt/ccdstudio/ccdstudio|g" "$here/ccdstudio.desktop" > "$root/usr/share/applications/ccdstudio.desktop"
cp "$here/ccdstudio-fits.xml" "$root/usr/share/mime/packages/"
for png in "$icons"/ccdstudio-*.png; do
    size=$(basename "$png" .png); size=${size#ccdstudio-}
    install -D -m 644 "$png" "$root/usr/share/icons/hicolor/${size}x${size}/apps/ccdstudio.png"
done
install -D -m 644 "$icons/ccdstudio.svg" "$root/usr/share/icons/hicolor/scalable/apps/ccdstudio.svg"
# No maintainer scripts: dpkg's triggers of shared-mime-info, desktop-file-utils and the icon cache run
# when files land in their folders.
cat > "$root/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $debarch
Maintainer: ccdstudio developers <maintainers@ccdstudio.invalid>
Installed-Size: $(du -sk "$root" | cut -f1)
Depends: libc6, libegl1, libgl1, libfontconfig1, libxkbcommon-x11-0, libxcb-cursor0, libdbus-1-3
Conflicts: $( [ "$package" = ccdstudio ] && echo ccdstudio-gpu || echo ccdstudio )
Section: science
Priority: optional
Description: label, segment and measure CCD frames and scroll segments ($flavour build)
 ccdstudio is a desktop app and command line for labelling, segmenting and measuring very large
 scientific images (FITS CCD frames, scroll segment layer stacks) and training U-Nets on them.
 Self-contained bundle with its own Python, Qt and PyTorch.
EOF
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$out/${package}_${version}_${debarch}.deb" >/dev/null
echo "wrote $out/${package}_${version}_${debarch}.deb"
