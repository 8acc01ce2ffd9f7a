"""Streaming frame sources: video files, image folders and MOTChallenge sequence folders.

``VideoSource.open(path)`` picks the backend:

- a file is decoded with OpenCV's FFmpeg backend (mp4, avi, mkv, mov, webm, …);
- a folder holding ``seqinfo.ini`` is a MOTChallenge sequence (images in its ``imDir``);
- any other folder is an image folder (jpg/jpeg/png/bmp, natural sort: ``2.jpg`` before ``10.jpg``).

Frames are RGB ``uint8`` H×W×3 arrays, 0-based. Only a bounded LRU cache of decoded frames is kept
in memory, so memory does not grow with the length of the video. Cached frames are shared between
callers and therefore read-only: ``frame.copy()`` before drawing on one.

Checks and their cost:

- Video files: the frame count is verified **at open time**. The claimed last frame
  (``CAP_PROP_FRAME_COUNT - 1``) is decoded after one seek, then one more frame is read; a claim that
  is too high (truncated file) is corrected by a binary search over seek + read (O(log n) seeks), one
  that is too low by reading on to the end, and an unknown count (≤ 0) by decoding every frame once.
  Both corrections add a warning. A frame that still fails to decode later raises ``VideoError``.
- Image folders: only the first image is decoded at open time (for the frame size). Every later
  image is checked **when it is read**: an image that does not decode, or whose size differs from the
  first image's, raises ``VideoError`` naming the image file.
- MOT sequences: ``seqinfo.ini`` is compared with what exists; a ``seqLength`` or image size that
  disagrees with the images in ``imDir`` produces a warning and the images win.

Warnings are logged with ``logging`` and kept in ``VideoSource.warnings``.
"""
from __future__ import annotations

import logging
import math
import operator
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from tracker.errors import FormatError, VideoError
from tracker.mot_files import read_seqinfo
from tracker.opencv import cv2
from tracker.video_info import DEFAULT_FPS, VideoInfo

_log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"})
"""Video files that folders are searched for (any file opens, whatever its name)."""
_MIN_GRAB_AHEAD = 8
"""Frames ahead of the decoder that are always reached by decoding forward rather than seeking."""
_COST_SMOOTHING = 0.25
"""Weight of the newest measurement in the running seek and frame costs."""


class _FrameReader(Protocol):
    """A backend: decodes frame ``index`` to a BGR array or raises ``VideoError``."""

    frame_count: int
    width: int
    height: int

    def read(self, index: int) -> np.ndarray: ...

    def where(self, index: int) -> str: ...

    def file(self, index: int) -> Path | None: ...

    def close(self) -> None: ...


class VideoSource:
    """Random-access and sequential RGB frames of a video file, image folder or MOT sequence.

    Create one with ``VideoSource.open(path)``. ``source[i]`` (negative ``i`` allowed) returns frame
    ``i``; iterating or ``frames(start, end)`` decodes sequentially without seeking. Thread-safe:
    one lock guards the decoder and the cache.
    """

    def __init__(
        self,
        reader: _FrameReader,
        *,
        path: Path,
        name: str,
        fps: float,
        warnings: list[str],
        cache_size: int,
    ) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self._reader = reader
        self.path = path
        self.name = name
        self.fps = fps
        self.frame_count = reader.frame_count
        self.width = reader.width
        self.height = reader.height
        self.warnings = list(warnings)
        self.cache_size = cache_size
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        for message in self.warnings:
            _log.warning("%s", message)

    @classmethod
    def open(cls, path: str | Path, cache_size: int = 64) -> VideoSource:
        """Open a video file, MOT sequence folder or image folder (``VideoError`` if unusable)."""
        path = Path(path).expanduser()
        if not path.exists():
            raise VideoError(f"{path}: no such file or folder")
        if path.is_dir():
            if (path / "seqinfo.ini").is_file():
                reader, name, fps, warnings = _open_mot_sequence(path)
            else:
                reader, name, fps, warnings = _open_image_folder(path)
        elif path.is_file():
            reader, name, fps, warnings = _open_video_file(path)
        else:
            raise VideoError(f"{path}: not a regular file or folder")
        return cls(reader, path=path, name=name, fps=fps, warnings=warnings, cache_size=cache_size)

    def info(self) -> VideoInfo:
        """The source's metadata."""
        return VideoInfo(self.path, self.name, self.frame_count, self.fps, self.width, self.height)

    def __len__(self) -> int:
        return self.frame_count

    def __getitem__(self, index: int) -> np.ndarray:
        """Frame ``index`` as a read-only RGB uint8 H×W×3 array (from the cache when possible)."""
        position = operator.index(index)
        if position < 0:
            position += self.frame_count
        if not 0 <= position < self.frame_count:
            raise IndexError(f"frame {index} out of range for {self.name} ({self.frame_count} frames)")
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.path}: the video source is closed")
            frame = self._cache.get(position)
            if frame is not None:
                self._cache.move_to_end(position)
                return frame
            frame = self._decode(position)
            if self.cache_size:
                self._cache[position] = frame
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        for _, frame in self.frames():
            yield frame

    def frames(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for ``start <= index < end``, decoded sequentially (slice semantics)."""
        for index in range(*slice(start, end).indices(self.frame_count)):
            yield index, self[index]

    def image_file(self, index: int) -> Path | None:
        """The image file that holds frame ``index`` (image folders, MOT sequences), None for a video file."""
        return self._reader.file(index)

    def cached_indices(self) -> list[int]:
        """Indices of the frames held in the cache, least recently used first."""
        with self._lock:
            return list(self._cache)

    def clear_cache(self) -> None:
        """Drop every cached frame."""
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        """Release the decoder and the cache; further reads raise ``ValueError``."""
        with self._lock:
            self._closed = True
            self._cache.clear()
            self._reader.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"VideoSource({str(self.path)!r}, {self.frame_count} frames, "
            f"{self.width}x{self.height}, {self.fps:g} fps)"
        )

    def _decode(self, index: int) -> np.ndarray:
        """Decode frame ``index`` to a read-only RGB array, checking its size."""
        bgr = self._reader.read(index)
        height, width = bgr.shape[:2]
        if (width, height) != (self.width, self.height):
            raise VideoError(
                f"{self._reader.where(index)}: frame is {width}x{height} but the first frame of "
                f"{self.name} is {self.width}x{self.height} (frames of mixed sizes)"
            )
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        return rgb


def probe(path: str | Path) -> VideoInfo:
    """The metadata of a video file or folder (verifies it opens)."""
    with VideoSource.open(path, cache_size=0) as source:
        return source.info()


# --- video files -----------------------------------------------------------------------------------


class _VideoFileReader:
    """OpenCV/FFmpeg decoder that tracks its position so sequential reads never seek."""

    def __init__(self, path: Path, warnings: list[str]) -> None:
        self.path = path
        self._cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise VideoError(
                f"{path}: cannot be opened as a video (not a video file, or corrupt or truncated)"
            )
        self._position: int | None = 0
        """Index of the frame the next ``cap.read()`` returns; ``None`` when unknown."""
        self._seek_seconds = 0.0
        """Running cost of reaching a frame by seeking (FFmpeg decodes from the previous keyframe)."""
        self._frame_seconds = 0.0
        """Running cost of decoding one frame sequentially."""
        first = self._try_read(0)
        if first is None:
            self.close()
            raise VideoError(f"{path}: no frame can be decoded (corrupt video or unsupported codec)")
        self.height, self.width = first.shape[:2]
        self._frame_seconds = 0.0  # the first decode includes the decoder's start-up
        self.frame_count = self._count_frames(warnings)
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        """As the container claims it (may be 0 or NaN)."""

    def _count_frames(self, warnings: list[str]) -> int:
        """The number of decodable frames; see the module docstring for the cost."""
        claimed = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if claimed <= 0:
            count = self._read_on(1)
            warnings.append(f"{self.path}: the container gives no frame count; counted {count} frames")
            return count
        if self._try_read(claimed - 1) is not None:
            count = self._read_on(claimed)
            if count != claimed:
                warnings.append(
                    f"{self.path}: the container claims {claimed} frames but {count} can be decoded;"
                    f" using {count}"
                )
            return count
        readable, unreadable = 0, claimed - 1
        while unreadable - readable > 1:
            middle = (readable + unreadable) // 2
            if self._try_read(middle) is None:
                unreadable = middle
            else:
                readable = middle
        count = readable + 1
        warnings.append(
            f"{self.path}: the container claims {claimed} frames but only the first {count} can be"
            f" decoded (truncated or corrupt file); using {count}"
        )
        return count

    def _read_on(self, index: int) -> int:
        """Decode forward from ``index`` (the current position) to the end; return the end index."""
        while self._cap.grab():
            index += 1
        self._position = None
        return index

    def _grab_ahead_limit(self) -> int:
        """How far ahead decoding forward is expected to cost less than a seek (measured costs).

        Long-GOP videos (one keyframe every few hundred frames) make every seek decode from the
        keyframe, so jumping forward by decoding is then cheaper over long distances too.
        """
        if self._frame_seconds <= 0:
            return _MIN_GRAB_AHEAD
        return max(_MIN_GRAB_AHEAD, int(self._seek_seconds / self._frame_seconds))

    @staticmethod
    def _smooth(average: float, value: float) -> float:
        return value if average <= 0 else average + _COST_SMOOTHING * (value - average)

    def _try_read(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as BGR, seeking only when decoding forward costs more; ``None`` on failure."""
        started = time.perf_counter()
        ahead = None if self._position is None else index - self._position
        seeking = ahead is None or not 0 <= ahead <= self._grab_ahead_limit()
        if seeking and index == 0:
            self._rewind()
        elif seeking:
            # OpenCV reports the position it really reached: a seek that ends elsewhere (a
            # decode error on the way) must not silently return another frame.
            if not self._cap.set(cv2.CAP_PROP_POS_FRAMES, index) or (
                int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) != index
            ):
                self._position = None
                return None
            self._position = index
        while self._position < index:
            if not self._cap.grab():
                self._position = None
                return None
            self._position += 1
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._position = None
            return None
        elapsed = time.perf_counter() - started
        if seeking:
            self._seek_seconds = self._smooth(self._seek_seconds, elapsed)
        else:
            self._frame_seconds = self._smooth(self._frame_seconds, elapsed / (ahead + 1))
        self._position = index + 1
        return frame

    def _rewind(self) -> None:
        """Back to the first frame by reopening the file: FFmpeg's seek to frame 0 of a one-frame video
        reports success, and the next read fails."""
        self._cap.release()
        self._cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        self._position = 0

    def read(self, index: int) -> np.ndarray:
        frame = self._try_read(index)
        if frame is None:
            raise VideoError(
                f"{self.where(index)} (of {self.frame_count}) cannot be decoded (corrupt video)"
            )
        return frame

    def file(self, index: int) -> None:
        """Frames of a video file are not image files."""

    def where(self, index: int) -> str:
        return f"{self.path}: frame {index}"

    def close(self) -> None:
        self._cap.release()


def _open_video_file(path: Path) -> tuple[_VideoFileReader, str, float, list[str]]:
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes)")
    warnings: list[str] = []
    reader = _VideoFileReader(path, warnings)
    fps = reader.fps
    if not math.isfinite(fps) or fps <= 0:
        warnings.append(f"{path}: the container gives no frame rate; assuming {DEFAULT_FPS:g} fps")
        fps = DEFAULT_FPS
    return reader, path.stem, fps, warnings


# --- image folders and MOT sequences -------------------------------------------------------------


def natural_key(name: str) -> tuple[str | int, ...]:
    """Sort key that orders embedded numbers by value: ``img2`` < ``img10``."""
    parts = re.split(r"([0-9]+)", name.casefold())
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def _list_images(folder: Path, extensions: frozenset[str]) -> list[Path]:
    """Image files in ``folder`` (no hidden files), naturally sorted."""
    try:
        files = [
            entry
            for entry in folder.iterdir()
            if entry.suffix.lower() in extensions and not entry.name.startswith(".") and entry.is_file()
        ]
    except OSError as exc:
        raise VideoError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from exc
    return sorted(files, key=lambda entry: natural_key(entry.name))


class _ImageFilesReader:
    """Decodes one image file per frame; the size of the first image is the source's size."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.frame_count = len(files)
        self.height, self.width = self.read(0).shape[:2]

    def read(self, index: int) -> np.ndarray:
        path = self.files[index]
        try:
            data = np.fromfile(path, dtype=np.uint8)  # imdecode handles non-ASCII paths everywhere
        except OSError as exc:
            raise VideoError(f"{self.where(index)}: cannot read the image ({exc.strerror or exc})") from exc
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise VideoError(f"{self.where(index)}: cannot decode the image (corrupt or not an image)")
        return image

    def file(self, index: int) -> Path:
        return self.files[index]

    def where(self, index: int) -> str:
        return f"{self.files[index]} (frame {index})"

    def close(self) -> None:
        """Nothing is held open between reads."""


def _open_image_folder(folder: Path) -> tuple[_ImageFilesReader, str, float, list[str]]:
    files = _list_images(folder, IMAGE_EXTENSIONS)
    if not files:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise VideoError(f"{folder}: the folder holds no images ({extensions})")
    return _ImageFilesReader(files), folder.name, DEFAULT_FPS, []


def _open_mot_sequence(folder: Path) -> tuple[_ImageFilesReader, str, float, list[str]]:
    """A MOTChallenge sequence: ``seqinfo.ini`` plus its image folder (``img1/`` by default)."""
    seqinfo = folder / "seqinfo.ini"
    try:
        info = read_seqinfo(seqinfo)
    except FormatError as exc:
        raise VideoError(str(exc)) from None
    if not info.has_section:
        raise VideoError(f"{seqinfo}: no [Sequence] section")
    warnings: list[str] = []
    image_dir = folder / info.image_dir
    if not image_dir.is_dir():
        raise VideoError(f"{seqinfo}: imDir folder {image_dir} does not exist")
    extension = info.image_ext
    files = _list_images(image_dir, frozenset({extension}))
    if not files:
        raise VideoError(f"{image_dir}: the folder holds no {extension} images (see {seqinfo})")

    claimed = info.length
    if claimed is not None and claimed != len(files):
        relation = "only " if claimed > len(files) else ""
        warnings.append(
            f"{seqinfo} claims {claimed} frames but {relation}{len(files)} images exist in "
            f"{image_dir.name}/; using {len(files)}"
        )
    for index, path in enumerate(files):
        if path.stem.isascii() and path.stem.isdigit() and int(path.stem) != index + 1:
            warnings.append(
                f"{image_dir}: image numbers are not consecutive from 1 (frame {index} is {path.name});"
                " frames follow the sorted file list"
            )
            break

    reader = _ImageFilesReader(files)
    claimed_size = (info.width, info.height)
    if None not in claimed_size and claimed_size != (reader.width, reader.height):
        warnings.append(
            f"{seqinfo} claims {claimed_size[0]}x{claimed_size[1]} but {files[0].name} is "
            f"{reader.width}x{reader.height}; using {reader.width}x{reader.height}"
        )
    fps = info.frame_rate
    if fps is None or not math.isfinite(fps) or fps <= 0:
        warnings.append(f"{seqinfo}: no valid frameRate; assuming {DEFAULT_FPS:g} fps")
        fps = DEFAULT_FPS
    name = info.name or folder.name
    return reader, name, float(fps), warnings
