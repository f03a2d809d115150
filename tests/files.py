"""Sample files for attachment tests, built in memory (real formats, small)."""

from __future__ import annotations

import functools
import io
import os
import struct
import zipfile
import zlib

from PIL import Image


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def big_pdf(size: int) -> bytes:
    """A valid PDF padded with a comment block to about `size` bytes (a scanned lease)."""
    head = pdf()
    filler = b"%" + b"x" * 78 + b"\n"
    body = filler * ((size - len(head)) // len(filler))
    return head.replace(b"%%EOF\n", body + b"%%EOF\n")


def _ooxml(part: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr(part, '<?xml version="1.0"?><document/>')
    return buf.getvalue()


def docx() -> bytes:
    return _ooxml("word/document.xml")


def xlsx() -> bytes:
    return _ooxml("xl/workbook.xml")


def _ole(marker: bytes) -> bytes:
    """A compound file header with the stream signature Office 97-2003 puts at offset 512."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * (512 - 8)
    return header + marker + b"\x00" * 2048


def doc() -> bytes:
    return _ole(b"\xec\xa5\xc1\x00")


def xls() -> bytes:
    return _ole(b"\x09\x08\x10\x00\x00\x06\x05\x00")


def zip_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload.bin", b"\x00" * 100)
    return buf.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width`x`height` pixels but carries almost no data (a bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def noisy_png(size: tuple[int, int] = (300, 300)) -> bytes:
    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def truncated_png() -> bytes:
    data = noisy_png()
    return data[: len(data) // 2]


@functools.lru_cache(maxsize=4)
def png_of(width: int, height: int, mode: str = "RGBA") -> bytes:
    """A real, fully decodable PNG of one colour, built row by row (a 7060x7060 RGBA one is
    ~200 KB and decodes to 200 MB: the pen test's decompression bomb)."""
    channels, colour_type = {"RGB": (3, 2), "RGBA": (4, 6)}[mode]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (width * channels)  # filter 0, zero bytes
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def jpeg_claiming(
    width: int, height: int, *, progressive: bool = False, subsampling: int = 2, scans: int = 1
) -> bytes:
    """A small real JPEG whose frame header claims `width`x`height` (`scans` > 1: its scan is
    repeated, as in a sequential JPEG with several scans)."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 40)).save(
        buf, "JPEG", progressive=progressive, subsampling=subsampling
    )
    data = bytearray(buf.getvalue())
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in (0xC0, 0xC2):
            data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
        if marker == 0xDA:
            break
        pos += 2 + length
    if scans > 1:
        scan = bytes(data[pos:-2])  # the scan header and its entropy-coded data, before EOI
        data = data[:-2] + scan * (scans - 1) + b"\xff\xd9"
    return bytes(data)


def gif_animation(width: int, height: int, frames: int) -> bytes:
    """An animated GIF: a `width`x`height` canvas and `frames` frames of one pixel each."""
    header = (
        b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    )
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"!\xf9\x04\x04\x0a\x00\x00\x00"  # graphic control: 0.1 s, keep the previous frame
        + b","
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02D\x01\x00"  # one pixel of colour 0, LZW
    )
    return header + loop + frame * frames + b";"


def jpeg_rotated(size: tuple[int, int], orientation: int) -> bytes:
    """A JPEG with an EXIF Orientation tag (6: shown rotated 90 degrees clockwise)."""
    img = Image.new("RGB", size, (30, 60, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()
