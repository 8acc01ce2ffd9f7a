"""VideoSource over real videos, image folders and MOT sequences, and every kind of bad input."""
from __future__ import annotations

import logging
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.errors import VideoError
from tracker.video import DEFAULT_FPS, VideoInfo, VideoSource, natural_key, probe

AVI_FRAMES = 40
AVI_SIZE = (64, 48)  # width, height


def _rgb_imread(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _write_png(path: Path, width: int, height: int, value: int) -> None:
    assert cv2.imwrite(str(path), np.full((height, width, 3), value, np.uint8))


@pytest.fixture(scope="module")
def avi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An intact MJPG AVI (header with the frame count first, index last); frame i is grey 6*i."""
    path = tmp_path_factory.mktemp("avi") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 25, AVI_SIZE)
    assert writer.isOpened()
    for i in range(AVI_FRAMES):
        writer.write(np.full((AVI_SIZE[1], AVI_SIZE[0], 3), 6 * i, np.uint8))
    writer.release()
    return path


def _avi_chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every video frame chunk in an AVI's movi list."""
    offset, chunks = data.find(b"movi") + 4, []
    while data[offset : offset + 4] == b"00dc":
        size = struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        chunks.append((offset, size))
        offset += 8 + size + (size & 1)
    return chunks


# --- real data ---------------------------------------------------------------------------------------


def test_mp4_metadata(shared_data: Path) -> None:
    path = shared_data / "highway" / "highway.mp4"
    with VideoSource.open(path) as source:
        assert (len(source), source.width, source.height) == (249, 1280, 720)
        assert source.fps == pytest.approx(30, abs=0.2)
        assert source.name == "highway"
        assert source.warnings == []
        assert source.info() == VideoInfo(path, "highway", 249, source.fps, 1280, 720)
        frame = source[-1]
        assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
    assert probe(path).frame_count == 249


@pytest.mark.parametrize(
    ("video", "indices"), [("highway", [248, 3, 170, 0, 100]), ("bedroom", [199, 57, 1, 120])]
)
def test_random_access_equals_sequential_decode(shared_data: Path, video: str, indices: list[int]) -> None:
    path = shared_data / video / f"{video}.mp4"
    with VideoSource.open(path, cache_size=0) as source:
        expected = {i: frame for i, frame in source.frames() if i in indices}
    with VideoSource.open(path, cache_size=0) as source:
        for i in indices:  # out of order: backward and forward jumps
            np.testing.assert_array_equal(source[i], expected[i], err_msg=f"{video} frame {i}")
        np.testing.assert_array_equal(source[-1], expected[len(source) - 1])


def test_sequential_reads_do_not_seek(shared_data: Path) -> None:
    class CountingCapture:
        def __init__(self, capture: cv2.VideoCapture) -> None:
            self.capture, self.seeks = capture, 0

        def set(self, prop: int, value: float) -> bool:
            self.seeks += prop == cv2.CAP_PROP_POS_FRAMES
            return self.capture.set(prop, value)

        def __getattr__(self, name: str):
            return getattr(self.capture, name)

    with VideoSource.open(shared_data / "bedroom" / "bedroom.mp4", cache_size=4) as source:
        capture = source._reader._cap = CountingCapture(source._reader._cap)
        indices = [i for i, _ in source.frames(10, 70)]
        assert indices == list(range(10, 70))
        assert capture.seeks == 1  # one seek to frame 10, then plain reads
        assert [i for i, _ in source.frames(70, 75)] == list(range(70, 75))
        assert capture.seeks == 1


def test_video_frames_are_rgb(shared_data: Path) -> None:
    """The mp4 and the JPEGs hold the same pictures: close in RGB order, far apart with R and B swapped."""
    with VideoSource.open(shared_data / "bedroom" / "bedroom.mp4") as video:
        frame = video[0].astype(int)
    jpeg = _rgb_imread(shared_data / "bedroom" / "frames" / "00000.jpg").astype(int)
    assert np.abs(frame - jpeg).mean() < 4
    assert np.abs(frame - jpeg[..., ::-1]).mean() > 6


def test_image_folder(shared_data: Path) -> None:
    folder = shared_data / "bedroom" / "frames"
    with VideoSource.open(folder) as source:
        assert (len(source), source.width, source.height) == (200, 960, 540)
        assert source.name == "frames" and source.fps == DEFAULT_FPS
        frame = source[37]
        np.testing.assert_array_equal(frame, _rgb_imread(folder / "00037.jpg"))
        assert tuple(frame[100, 200]) == tuple(cv2.imread(str(folder / "00037.jpg"))[100, 200][::-1])
        np.testing.assert_array_equal(source[-1], _rgb_imread(folder / "00199.jpg"))
        assert [i for i, _ in source.frames(197)] == [197, 198, 199]
        with pytest.raises(IndexError):
            source[200]
        with pytest.raises(IndexError):
            source[-201]


def test_image_folder_natural_sort(tmp_path: Path) -> None:
    for name, value in [("frame10.png", 10), ("frame2.png", 2), ("frame1.png", 1), ("notes.txt", 0)]:
        if name.endswith(".png"):
            _write_png(tmp_path / name, 8, 6, value)
        else:
            (tmp_path / name).write_text("not an image")
    with VideoSource.open(tmp_path) as source:
        assert [int(frame[0, 0, 0]) for frame in source] == [1, 2, 10]
    assert sorted(["b10", "b9", "a100"], key=natural_key) == ["a100", "b9", "b10"]


def test_mot_sequence(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = shared_data / "mot17-mini" / "MOT17-04-FRCNN"
    with caplog.at_level(logging.WARNING, logger="tracker.video"):
        source = VideoSource.open(folder)
    with source:
        assert (len(source), source.width, source.height, source.fps) == (8, 1920, 1080, 30.0)
        assert source.name == "MOT17-04-FRCNN"
        assert len(source.warnings) == 1
        assert "1050" in source.warnings[0] and "using 8" in source.warnings[0]
        assert source.warnings[0] in caplog.messages
        np.testing.assert_array_equal(source[0], _rgb_imread(folder / "img1" / "000001.jpg"))


def test_mot_sequence_with_missing_image_dir(shared_data: Path) -> None:
    """highway/ has a seqinfo.ini whose imDir (mot_label) does not exist."""
    with pytest.raises(VideoError, match="mot_label"):
        VideoSource.open(shared_data / "highway")


def test_lru_cache_is_bounded(shared_data: Path) -> None:
    with VideoSource.open(shared_data / "bedroom" / "frames", cache_size=4) as source:
        for i in range(20):
            source[i]
        assert source.cached_indices() == [16, 17, 18, 19]
        first = source[17]
        assert source[17] is first  # a cache hit
        assert source.cached_indices() == [16, 18, 19, 17]
        source[0]
        assert source.cached_indices() == [18, 19, 17, 0]
        assert not first.flags.writeable  # shared with the cache
    with VideoSource.open(shared_data / "highway" / "highway.mp4", cache_size=3) as video:
        for _ in video.frames(0, 30):
            pass
        assert video.cached_indices() == [27, 28, 29]


def test_closed_source_refuses_reads(shared_data: Path) -> None:
    source = VideoSource.open(shared_data / "bedroom" / "frames")
    with source:
        source[0]
    assert source.cached_indices() == []
    with pytest.raises(ValueError, match="closed"):
        source[0]


# --- bad input ---------------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="nope.mp4: no such file"):
        VideoSource.open(tmp_path / "nope.mp4")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match=r"empty\.mp4: the file is empty"):
        VideoSource.open(tmp_path / "empty.mp4")


def test_text_file_renamed_mp4(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 100)
    with pytest.raises(VideoError, match=r"notes\.mp4: cannot be opened as a video"):
        VideoSource.open(tmp_path / "notes.mp4")


def test_truncated_mp4_fails_at_open(shared_data: Path, tmp_path: Path) -> None:
    """bedroom.mp4 keeps its index (moov) at the end: a truncated copy cannot be opened at all."""
    data = (shared_data / "bedroom" / "bedroom.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(VideoError, match=r"cut\.mp4: .*corrupt or truncated"):
        VideoSource.open(tmp_path / "cut.mp4")


def test_truncated_avi_gets_true_frame_count(avi: Path, tmp_path: Path) -> None:
    """An AVI's header (with the frame count) comes first: a truncated copy opens with fewer frames."""
    data = avi.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoSource.open(avi, cache_size=0) as intact, VideoSource.open(cut, cache_size=0) as source:
        assert len(intact) == AVI_FRAMES and intact.warnings == []
        assert 0 < len(source) < AVI_FRAMES
        assert len(source.warnings) == 1 and f"claims {AVI_FRAMES} frames" in source.warnings[0]
        last = len(source) - 1
        np.testing.assert_array_equal(source[last], intact[last])
        np.testing.assert_array_equal(source[0], intact[0])
        assert len(list(source)) == len(source)
        with pytest.raises(IndexError):
            source[len(source)]


def test_corrupt_frame_in_the_middle(avi: Path, tmp_path: Path) -> None:
    data = bytearray(avi.read_bytes())
    offset, size = _avi_chunks(bytes(data))[20]
    data[offset + 8 : offset + 8 + size] = bytes(size)  # frame 20 no longer holds a JPEG
    broken = tmp_path / "broken.avi"
    broken.write_bytes(bytes(data))
    with VideoSource.open(broken) as source, VideoSource.open(avi, cache_size=0) as intact:
        assert len(source) == AVI_FRAMES
        decoded = []
        with pytest.raises(VideoError, match=r"broken\.avi: frame 20 "):
            for i, frame in source.frames():
                decoded.append(i)
        assert decoded == list(range(20))
        np.testing.assert_array_equal(source[39], intact[39])
        for i in (20, 25):  # a seek across the bad frame: an error, never another frame
            try:
                frame = source[i]
            except VideoError as exc:
                assert "broken.avi" in str(exc)
            else:
                np.testing.assert_array_equal(frame, intact[i])


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(VideoError, match="holds no images"):
        VideoSource.open(tmp_path)


def test_mixed_sizes_fail_when_read(tmp_path: Path) -> None:
    _write_png(tmp_path / "a.png", 8, 6, 10)
    _write_png(tmp_path / "b.png", 8, 6, 20)
    _write_png(tmp_path / "c.png", 10, 6, 30)
    with VideoSource.open(tmp_path) as source:  # checked lazily: opening reads only a.png
        assert (len(source), source.width, source.height) == (3, 8, 6)
        assert int(source[1][0, 0, 0]) == 20
        with pytest.raises(VideoError, match=r"c\.png \(frame 2\): frame is 10x6 but .* is 8x6"):
            source[2]


def test_undecodable_image(tmp_path: Path) -> None:
    _write_png(tmp_path / "0001.png", 8, 6, 10)
    (tmp_path / "0002.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with VideoSource.open(tmp_path) as source:
        with pytest.raises(VideoError, match=r"0002\.jpg \(frame 1\): cannot decode"):
            source[1]
    (tmp_path / "0001.png").write_bytes(b"")
    with pytest.raises(VideoError, match=r"0001\.png \(frame 0\): cannot decode"):
        VideoSource.open(tmp_path)


def test_bad_seqinfo(tmp_path: Path) -> None:
    (tmp_path / "img1").mkdir()
    _write_png(tmp_path / "img1" / "000001.png", 8, 6, 10)
    (tmp_path / "seqinfo.ini").write_text("name=x\n")
    with pytest.raises(VideoError, match=r"seqinfo\.ini:1: missing a \[section\] header"):
        VideoSource.open(tmp_path)
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nimDir=img1\nimExt=.png\nframeRate=fast\n")
    with pytest.raises(VideoError, match=r"frameRate='fast' is not a number"):
        VideoSource.open(tmp_path)
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nimDir=img1\nimExt=.jpg\n")
    with pytest.raises(VideoError, match=r"no \.jpg images"):
        VideoSource.open(tmp_path)


def test_bench_video_runs(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.benchmarks.io import bench_video

    (result,) = bench_video([shared_data / "bedroom" / "bedroom.mp4"], seeks=3)
    assert (result.name, result.frames) == ("bedroom", 200)
    assert result.decode_fps > 0 and result.open_ms > 0
    assert 0 < result.seek_p50_ms <= result.seek_p95_ms
    assert "bedroom" in capsys.readouterr().out
