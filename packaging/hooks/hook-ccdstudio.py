"""PyInstaller hook for ccdstudio: sub-commands and benchmark groups are found at run time.

``ccdstudio.cli`` and ``ccdstudio.bench`` import their modules by walking the package, which the import
analysis cannot follow, so every submodule is collected; the metadata makes ``importlib.metadata`` work.
"""

from PyInstaller.utils.hooks import collect_submodules, copy_metadata

hiddenimports = collect_submodules("ccdstudio")
datas = copy_metadata("ccdstudio")
