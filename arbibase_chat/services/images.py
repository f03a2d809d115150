"""Image bounds and thumbnails: what an uploaded image may cost to decode, and its thumbnail.

No database, no storage: `attachments.py` calls `make_thumbnail` on the spooled file after
`incoming.sniff` named it an image. Images must decode (Pillow): a WebP thumbnail of at most
THUMBNAIL_PX is made, which also strips the metadata for inline display. The pixel count is
read from the header and bounded per format before anything is decoded (decompression bombs;
the notes below), and only MAX_CONCURRENT_DECODES images are decoded at once per process.
"""

from __future__ import annotations

import contextlib
import mmap
import threading
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageOps

from arbibase_chat.services.errors import Busy, ImageTooLarge, Invalid
from arbibase_chat.services.incoming import ALLOWED_IMAGE_LABELS, Kind

THUMBNAIL_PX = 480
THUMBNAIL_TYPE = "image/webp"

# A small file can describe a huge picture (a 7060x7060 PNG of one colour is 190 KB and decoded
# to ~580 MB of memory here), so the size is read from the header first and bounded per format
# by what decoding it costs. Measured with Pillow 13 (peak RSS growth of one thumbnail):
#
# - JPEG, sequential with one scan (what phone cameras write): decoded at 1/2..1/8 scale
#   (`draft`, inside `thumbnail`): a 12 or 48 MP photo costs ~18 MB. 64 MP covers every phone
#   camera's default output (12-50 MP) with room and stays under Pillow's own bomb warning
#   (89 MP); larger photos (108/200 MP modes) are also over MAX_ATTACHMENT_BYTES in practice.
# - JPEG, progressive or with several scans: libjpeg keeps every DCT coefficient of the whole
#   image (2 bytes a sample) whatever the output scale: at most JPEG_COEFFICIENT_BYTES, which
#   is 52 MP for the usual 4:2:0 layout (a 48 MP progressive photo: 150 MB), 26 MP for 4:4:4.
# - PNG and GIF cannot be decoded at reduced scale: 24 MP (a 24 MP RGBA PNG: ~113 MB; RGB or
#   palette less). WebP goes through libwebp's animation decoder, which holds two canvases
#   besides Pillow's copy (~15 bytes a pixel): 8 MP (~123 MB).
# - Animations (GIF, APNG, WebP): the first frame is all the server decodes (bounded above), but
#   a browser plays every frame: frames x canvas is bounded by MAX_ANIMATION_PIXELS.
#
# At most MAX_CONCURRENT_DECODES images are decoded at once per process (uploads run in worker
# threads); a few more wait, past that an upload is refused at once as busy (503, retry).
# Four parallel uploads at the limits: ~+270 MB (PNG, WebP) instead of +2.1 GB for four of
# the 7060x7060 PNG before these bounds.

MAX_PIXELS: dict[str, int] = {
    "JPEG": 64_000_000,
    "PNG": 24_000_000,
    "GIF": 24_000_000,
    "WEBP": 8_000_000,
}
JPEG_COEFFICIENT_BYTES = 150 * 1024 * 1024
MAX_ANIMATION_PIXELS = 200_000_000
MAX_CONCURRENT_DECODES = 2
MAX_WAITING_DECODES = 8
DECODE_WAIT_SECONDS = 30.0
BUSY_DECODING = "The server is busy processing images right now; try the upload again shortly."
_SEQUENTIAL_SOF = (0xC0, 0xC1, 0xC9)  # baseline / extended sequential (Huffman, arithmetic)


class _DecodeSlots:
    """At most `running` decodes at once; at most `waiting` more wait, each `timeout` s."""

    def __init__(self, running: int, waiting: int, timeout: float) -> None:
        self._running = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._waiting = 0
        self.max_waiting = waiting
        self.timeout = timeout

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if not self._running.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.max_waiting:
                    raise Busy(BUSY_DECODING, field="file")
                self._waiting += 1
            try:
                acquired = self._running.acquire(timeout=self.timeout)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise Busy(BUSY_DECODING, field="file")
        try:
            yield
        finally:
            self._running.release()


decode_slots = _DecodeSlots(MAX_CONCURRENT_DECODES, MAX_WAITING_DECODES, DECODE_WAIT_SECONDS)


def _megapixels(pixels: float) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def _too_large(fmt: str, width: int, height: int, limit: int, what: str = "") -> ImageTooLarge:
    label = ALLOWED_IMAGE_LABELS[fmt]
    return ImageTooLarge(
        f"Image is {width}x{height} pixels ({_megapixels(width * height)} megapixels); "
        f"{what or label + 's'} may have at most {_megapixels(limit)} megapixels",
        field="file",
    )


def _webp_size(path: Path) -> tuple[int, int]:
    """The canvas size from a WebP's first chunk, before libwebp allocates the canvas."""
    with path.open("rb") as f:
        head = f.read(30)
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(head[26:28], "little") & 0x3FFF,
            int.from_bytes(head[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    raise Invalid("Image could not be decoded (damaged or not a real image)", field="file")


def _jpeg_scans(path: Path) -> tuple[int | None, int]:
    """(frame type marker, number of scans) of the first image in a JPEG, without decoding.

    Walks the marker segments; the entropy-coded data after each scan header is skipped by
    searching for the next marker (0xFF not followed by 0x00 stuffing or a restart marker).
    """
    sof: int | None = None
    scans = 0
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = len(data)
        pos = 2  # after SOI
        while pos + 1 < size:
            if data[pos] != 0xFF:
                break  # not a marker: damaged; the decoder will say so
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker == 0xD9:  # EOI: the first image ends (an MPO's others are never decoded)
                break
            if marker == 0x01 or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            if pos + 4 > size:
                break
            end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and sof is None:
                sof = marker
            if marker != 0xDA:
                pos = end
                continue
            scans += 1
            pos = end
            while True:  # skip the scan's entropy-coded data
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= size:
                    return sof, scans
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos += 2
                    continue
                break
    return sof, scans


def _check_jpeg(img: Image.Image, path: Path) -> None:
    width, height = img.size
    if width * height > MAX_PIXELS["JPEG"]:
        raise _too_large("JPEG", width, height, MAX_PIXELS["JPEG"])
    sof, scans = _jpeg_scans(path)
    if sof in _SEQUENTIAL_SOF and scans <= 1:
        return  # decoded at reduced scale, a band at a time
    # Every coefficient of the whole image is kept: 2 bytes per sample of each component.
    layers = getattr(img, "layer", None) or [("", 1, 1, 0)]
    h_max = max(h for _, h, _, _ in layers) or 1
    v_max = max(v for _, _, v, _ in layers) or 1
    samples_per_pixel = sum(h * v for _, h, v, _ in layers) / (h_max * v_max)
    limit = int(JPEG_COEFFICIENT_BYTES / (2 * samples_per_pixel))
    if width * height > limit:
        raise _too_large(
            "JPEG", width, height, limit, "progressive (or multi-scan) JPEGs of this kind"
        )


def _check_image(img: Image.Image, path: Path, fmt: str) -> None:
    """Refuse, before decoding, what would cost too much memory (see the notes above)."""
    if fmt == "JPEG":
        _check_jpeg(img, path)
        return
    width, height = img.size
    if width * height > MAX_PIXELS[fmt]:
        raise _too_large(fmt, width, height, MAX_PIXELS[fmt])
    frames = int(getattr(img, "n_frames", 1) or 1)  # headers only: no frame is decoded
    if frames > 1:
        img.seek(0)
        if frames * width * height > MAX_ANIMATION_PIXELS:
            raise ImageTooLarge(
                f"Animation has {frames} frames of {width}x{height} pixels "
                f"({_megapixels(frames * width * height)} megapixels in all); at most "
                f"{_megapixels(MAX_ANIMATION_PIXELS)} megapixels are allowed",
                field="file",
            )


def make_thumbnail(src: Path, dst: Path, kind: Kind) -> None:
    """Check the image's size, then decode (at most a few at once) a WebP thumbnail of it."""
    fmt = kind.pil_format
    assert fmt is not None
    try:
        if fmt == "WEBP":  # opening it makes libwebp allocate the canvas: check first
            width, height = _webp_size(src)
            if width * height > MAX_PIXELS[fmt]:
                raise _too_large(fmt, width, height, MAX_PIXELS[fmt])
        with decode_slots.slot(), Image.open(src, formats=[fmt]) as img:
            _check_image(img, src, fmt)
            _render_thumbnail(img, dst)
    except (Invalid, Busy):
        raise
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            "Image has too many pixels to be decoded safely", field="file"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise Invalid(
            "Image could not be decoded (damaged or not a real image)", field="file"
        ) from None


def _render_thumbnail(img: Image.Image, dst: Path) -> None:
    """Decode `img` (size already checked) into a WebP of at most THUMBNAIL_PX.

    A JPEG is decoded at reduced scale (`draft`, inside `thumbnail`). Other formats are decoded
    whole, then first shrunk by an integer factor (`reduce`; images with alpha a strip at a
    time, since Pillow premultiplies a full-size copy otherwise) before the fine resampling.
    The orientation is applied to the small result: no full-size copy is ever made.
    """
    if img.format != "JPEG":
        img.load()
        factor = max(img.size) // (THUMBNAIL_PX * 2)
        if factor > 1 and img.mode in REDUCIBLE_MODES:  # palette images: resized NEAREST
            img = _reduce(img, factor)
    img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), reducing_gap=2.0)
    thumb = ImageOps.exif_transpose(img)
    if thumb.mode not in ("RGB", "RGBA"):
        thumb = thumb.convert("RGBA" if thumb.has_transparency_data else "RGB")
    thumb.save(dst, "WEBP", quality=80, method=4)


REDUCE_STRIP_ROWS = 64  # output rows per strip
REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F")


def _reduce(img: Image.Image, factor: int) -> Image.Image:
    """`img.reduce(factor)`, without the full-size premultiplied copy for alpha modes."""
    if img.mode not in ("LA", "RGBA"):
        return img.reduce(factor)
    width, height = img.size
    out = Image.new(img.mode, (-(-width // factor), -(-height // factor)))
    step = REDUCE_STRIP_ROWS * factor
    for top in range(0, height, step):
        strip = img.crop((0, top, width, min(height, top + step)))
        out.paste(strip.reduce(factor), (0, top // factor))
    out.info = img.info  # keeps the EXIF orientation for exif_transpose
    return out
