"""The open file as the window sees it: source, shown plane, CCD sections and what showing it needs.

Qt-free, so the jobs here run in a worker thread (or directly in tests). A :class:`Document` is replaced,
never mutated: switching plane or editing sections runs :func:`show_plane` and swaps the result in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from ccdstudio.errors import FormatError
from ccdstudio.imaging.render import PreparedPlane, prepare_plane
from ccdstudio.io import ccd, open_image
from ccdstudio.io.source import ImageSource, Plane, Window
from ccdstudio.jobs import CancelToken, Job, Progress, check

MOSAIC = -1
"""The plane index that means "all amplifiers assembled by DETSEC"."""


@dataclass(frozen=True)
class Sections:
    """Which pixels are data and which are bias (overscan/prescan), as 0-based ``[rows, cols]`` windows.

    ``from_header`` is False once the user set them by hand; they then survive a plane switch.
    """

    data: Window | None = None
    bias: tuple[Window, ...] = ()
    from_header: bool = True


@dataclass(frozen=True)
class Document:
    """An opened file and the plane on screen.

    ``plane`` indexes ``source.planes``, or is :data:`MOSAIC` to show the amplifiers assembled.
    """

    path: Path
    source: ImageSource
    plane: int
    prepared: PreparedPlane
    sections: Sections = field(default_factory=Sections)

    @cached_property
    def view_source(self) -> ImageSource:
        """The source the viewer reads: the file itself, or its mosaic."""
        return ccd.MosaicSource(self.source) if self.plane == MOSAIC else self.source

    @property
    def view_plane(self) -> int:
        """The plane of :attr:`view_source` on screen."""
        return 0 if self.plane == MOSAIC else self.plane

    @cached_property
    def predict_source(self) -> ImageSource:
        """What Predict reads: :attr:`view_source`, with sections set by hand written into the shown plane's
        header (a model's overscan pedestal reads DATASEC and BIASSEC)."""
        if self.sections.from_header or self.plane == MOSAIC:
            return self.view_source
        return ccd.SectionedSource(self.view_source, self.view_plane, self.sections.data, self.sections.bias)

    @property
    def plane_info(self) -> Plane:
        return self.view_source.planes[self.view_plane]

    @property
    def is_fits(self) -> bool:
        """FITS (and its mosaics): shown origin bottom-left with 1-based DS9 coordinates."""
        return self.source.format == "fits"

    @cached_property
    def has_mosaic(self) -> bool:
        return ccd.has_mosaic(self.source)

    @property
    def header_gain(self) -> float | None:
        return ccd.gain(self.plane_info.header)

    @cached_property
    def overscan_noise(self) -> float | None:
        """The read noise (ADU) the shown plane's serial overscan gives, None without one (or on a mosaic)."""
        from ccdstudio.imaging.overscan import plane_pedestal

        if self.plane == MOSAIC:
            return None
        found = plane_pedestal(self.predict_source, self.view_plane)
        return None if found is None or not found.noise > 0 else float(found.noise)

    @property
    def header_gain_unit(self) -> str | None:
        """The unit the gain card's comment names (``ADU/e-`` or ``e-/ADU``), or None."""
        return ccd.gain_unit(self.plane_info.header)

    def image_planes(self) -> list[int]:
        return self.source.indices("image")

    def overlay_planes(self) -> list[int]:
        """Planes shown as overlays (masks, label maps) that match the shown plane's shape."""
        if self.plane == MOSAIC:
            return []
        shape = self.plane_info.shape
        return [i for i, p in enumerate(self.source.planes) if p.role != "image" and p.shape == shape]


def header_sections(plane: Plane) -> Sections:
    """The data and bias windows written in a plane's header (DATASEC, BIASSEC)."""
    return Sections(ccd.data_window(plane.header), tuple(ccd.bias_windows(plane.header)))


def open_document(path: str | os.PathLike[str], cancel: CancelToken | None = None) -> Job[Document]:
    """Open ``path`` and prepare its first image plane, or the mosaic of a CCD's amplifiers (a job). Raises
    FormatError for unusable files."""
    path = Path(path)
    yield Progress(None, f"opening {path.name}")
    source = open_image(path)
    try:
        check(cancel)
        planes = source.indices("image")
        if not planes:
            raise FormatError(f"{path.name} holds no image plane to show (only masks or labels)")
        first = next((i for i in planes if min(source.planes[i].shape) > 1), planes[0])
        if ccd.has_mosaic(source):  # a CCD read by several amplifiers opens whole
            first = MOSAIC
        document = yield from show_plane(None, first, cancel=cancel, source=source, path=path)
    except BaseException:
        source.close()
        raise
    return document


def show_plane(
    document: Document | None,
    plane: int,
    sections: Sections | None = None,
    cancel: CancelToken | None = None,
    *,
    source: ImageSource | None = None,
    path: Path | None = None,
) -> Job[Document]:
    """Prepare ``plane`` (or :data:`MOSAIC`) of the document's source for display (a job).

    ``sections`` set by hand are kept; otherwise they come from the new plane's header. ``source`` and
    ``path`` stand in for ``document`` when a file is being opened.
    """
    source = source if source is not None else document.source
    path = path if path is not None else document.path
    draft = Document(path, source, plane, prepared=None)  # type: ignore[arg-type]
    info = draft.plane_info
    if len(info.shape) != 2 or min(info.shape) < 1:
        raise FormatError(f"{info.name} has shape {info.shape}; only 2-D images can be shown")
    if sections is None:
        kept = document.sections if document is not None and not document.sections.from_header else None
        sections = kept if kept is not None else header_sections(info)
    prepared = yield from prepare_plane(
        draft.view_source, draft.view_plane, sections.data, list(sections.bias), cancel=cancel
    )
    return replace(draft, prepared=prepared, sections=sections)

