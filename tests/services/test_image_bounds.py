"""Decompression bombs under the size cap (pen test, issue #9 finding 5): the pixel count is
read from the header and bounded per format before decoding, decoding is bounded per process,
and the memory a decode really takes is measured in a fresh process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from arbibase_chat.config import PROJECT_ROOT, get_settings
from arbibase_chat.services import attachments, images, incoming
from arbibase_chat.services.errors import Busy, ImageTooLarge
from tests import factories, files
from tests.factories import Pair

MB = 1024 * 1024


def _store(pair: Pair, name: str, data: bytes):
    return attachments.store_attachment(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        filename=name,
        source=io.BytesIO(data),
        db=pair.db,
    )


def _nothing_stored(pair: Pair) -> bool:
    root = get_settings().attachments_dir
    folder, incoming = root / str(pair.thread_id), root / attachments.INCOMING_DIR
    return not (folder.exists() and any(folder.iterdir())) and not (
        incoming.exists() and any(incoming.iterdir())
    )


def test_the_pen_test_bomb_is_refused_naming_the_limit(db):
    """190 KB on the wire, 7060x7060 RGBA: 200 MB decoded, and it used to be accepted."""
    pair = Pair(db)
    bomb = files.png_of(7060, 7060)
    assert len(bomb) < 250_000
    with pytest.raises(ImageTooLarge) as err:
        _store(pair, "bomb.png", bomb)
    assert err.value.code == "image_too_large" and err.value.field == "file"
    assert err.value.message == (
        "Image is 7060x7060 pixels (49.8 megapixels); PNG images may have at most 24 megapixels"
    )
    assert _nothing_stored(pair)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("big.png", files.png_header_only(6001, 4000), "PNG images may have at most 24"),
        ("big.gif", files.gif_animation(5000, 5000, 1), "GIF images may have at most 24"),
        ("big.jpg", files.jpeg_claiming(9_000, 8_000), "JPEG images may have at most 64"),
        (
            "progressive.jpg",
            files.jpeg_claiming(8000, 6600, progressive=True),
            "progressive (or multi-scan) JPEGs of this kind may have at most 52.4 megapixels",
        ),
        (
            "progressive-444.jpg",
            files.jpeg_claiming(6000, 5000, progressive=True, subsampling=0),
            "at most 26.2 megapixels",
        ),
        (
            "two-scans.jpg",
            files.jpeg_claiming(6000, 5000, subsampling=0, scans=2),
            "progressive (or multi-scan) JPEGs of this kind may have at most 26.2 megapixels",
        ),
        (
            "animation.gif",
            files.gif_animation(4000, 4000, 13),
            "Animation has 13 frames of 4000x4000 pixels (208 megapixels in all); "
            "at most 200 megapixels",
        ),
    ],
)
def test_each_format_has_its_bound_before_decoding(db, name, data, message):
    pair = Pair(db)
    with pytest.raises(ImageTooLarge) as err:
        _store(pair, name, data)
    assert message in err.value.message and err.value.field == "file"
    assert _nothing_stored(pair)


def test_a_large_webp_is_refused_before_libwebp_allocates_its_canvas(db, tmp_path):
    pair = Pair(db)
    buf = io.BytesIO()
    Image.new("RGB", (3000, 3000), (1, 2, 3)).save(buf, "WEBP", quality=50)
    with pytest.raises(ImageTooLarge, match="WebP images may have at most 8 megapixels"):
        _store(pair, "big.webp", buf.getvalue())
    # The header is read by hand (Pillow would create the decoder, and its canvas, first).
    for size, lossless in (((3000, 3000), False), ((1234, 567), True)):
        path = tmp_path / "x.webp"
        Image.new("RGBA", size).save(path, "WEBP", lossless=lossless)
        assert images._webp_size(path) == size


def test_inside_the_bounds_images_still_work(db):
    """A phone photo's size as JPEG (sequential and progressive), an animation under the
    frame bound, and orientation still applied to the (now small) thumbnail."""
    pair = Pair(db)
    gif = _store(pair, "anim.gif", files.gif_animation(4000, 4000, 12))
    assert gif.has_thumbnail
    rotated = _store(pair, "phone.jpg", files.jpeg_rotated((1000, 500), orientation=6))
    _, path = factories.open_attachment(
        user_id=pair.owner.id, attachment_id=rotated.id, variant="thumbnail", db=db
    )
    with Image.open(path) as thumb:
        assert thumb.size == (240, 480)


# --- memory, measured in a fresh process ---------------------------------------------------

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from arbibase_chat.services import images, incoming
    src, fmt = Path(sys.argv[1]), sys.argv[2]
    kind = next(k for k in incoming.ALLOWED.values() if k.pil_format == fmt)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        images.make_thumbnail(src, src.with_suffix(".thumb"), kind)
        outcome = "ok"
    except Exception as exc:
        outcome = getattr(exc, "code", type(exc).__name__)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"outcome": outcome, "grew_kb": after - before}))
    """
)


def _decode_cost(path: Path, fmt: str) -> tuple[str, float]:
    """(outcome, peak resident memory growth in MB) of one thumbnail in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), fmt],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["outcome"], result["grew_kb"] / 1024


def test_decoding_memory_is_bounded(tmp_path):
    """Before: the bomb decoded (+578 MB), a 24 MP RGBA PNG +188 MB (a full-size orientation
    copy and a premultiplied one). Now: the bomb is refused from its header, the largest PNG
    allowed costs about its own decoded size, a 48 MP phone JPEG stays cheap."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(files.png_of(7060, 7060))
    outcome, grew = _decode_cost(bomb, "PNG")
    assert outcome == "image_too_large" and grew < 20, (outcome, grew)

    largest = tmp_path / "largest.png"
    largest.write_bytes(files.png_of(6000, 4000))  # 24 MP RGBA: 96 MB of pixels
    outcome, grew = _decode_cost(largest, "PNG")
    assert outcome == "ok" and grew < 140, grew

    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (8000, 6000), (120, 90, 60)).save(photo, "JPEG", quality=85)
    outcome, grew = _decode_cost(photo, "JPEG")
    assert outcome == "ok" and grew < 60, grew


# --- concurrent decodes ----------------------------------------------------------------------


def test_at_most_two_images_decode_at_once(tmp_path, monkeypatch):
    running, peak, lock = 0, 0, threading.Lock()
    real = images._render_thumbnail

    def watched(img, dst):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.2)
            real(img, dst)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(images, "_render_thumbnail", watched)
    src = tmp_path / "p.png"
    src.write_bytes(files.image("PNG", (600, 400)))
    kind = incoming.ALLOWED["image/png"]
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            images.make_thumbnail(src, tmp_path / f"t{i}.webp", kind)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == [] and peak == images.MAX_CONCURRENT_DECODES == 2
    assert all((tmp_path / f"t{i}.webp").exists() for i in range(6))


def test_past_the_waiting_room_an_upload_is_refused_as_busy():
    slots = images._DecodeSlots(running=1, waiting=1, timeout=0.3)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with slots.slot():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    waited: list[BaseException] = []

    def wait_for_slot() -> None:
        try:
            with slots.slot():
                pass
        except Busy as exc:
            waited.append(exc)

    waiter = threading.Thread(target=wait_for_slot)
    waiter.start()
    time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(Busy) as err, slots.slot():  # the waiting room (1) is full: at once
        pass
    assert time.monotonic() - started < 0.1 and err.value.code == "busy"
    waiter.join()
    assert len(waited) == 1  # the waiter timed out (0.3 s) while the slot stayed taken
    release.set()
    holder.join()
    with slots.slot():  # free again
        pass
