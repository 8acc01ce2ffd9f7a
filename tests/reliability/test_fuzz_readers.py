"""Fuzzing every label reader: random bytes and structurally plausible files with hostile values (huge, negative,
non-finite, wrongly typed) must be read or refused with a ``MaskletError``, never with another exception (nor a
crash of the process). What a reader accepts must also export. A fixed example budget per reader, derandomised,
so that CI runs the same examples every time."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.document import Document
from exporters import registry
from tracker.errors import MaskletError
from tracker.video import VideoInfo

VIDEO = VideoInfo(Path("/videos/clip.mp4"), "clip", 20, 25.0, 64, 48)
BUDGET = settings(max_examples=120, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NUMBERS = st.one_of(
    st.integers(-3, 30), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 10**9, 2**53, 2**63, 1e308]),
)
TOKENS = st.one_of(NUMBERS.map(str), st.sampled_from(["nan", "inf", "-inf", "", "abc", "1e999", "0x10", "#", "1,2"]),
                   st.text(max_size=4))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=6)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)


def _exercise(read: Callable[[Document | None], Document], out: Path) -> None:
    """Read with and without a project video; what is accepted is exported. Only ``MaskletError`` may escape."""
    for doc in (Document.in_memory(VIDEO), None):
        try:
            result = read(doc)
        except MaskletError:
            continue
        for fmt, target in (("mot-results", out / "r.txt"), ("cocovid", out / "c.json"), ("cvat", out / "c.xml")):
            try:
                registry.get(fmt).write(result, target)
            except MaskletError:
                pass


def _rows(fields: int) -> st.SearchStrategy[str]:
    """Lines of ``fields`` plausible fields (sometimes one more or less), comma or space separated."""
    row = st.lists(TOKENS, min_size=fields - 1, max_size=fields + 1)
    return st.tuples(st.lists(row, max_size=5), st.sampled_from([",", " "])).map(
        lambda rows_sep: "".join(rows_sep[1].join(row) + "\n" for row in rows_sep[0]))


def _plausible_mot_row() -> st.SearchStrategy[str]:
    return st.tuples(NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS).map(
        lambda row: ",".join(map(str, row)) + "\n")


@BUDGET
@given(st.one_of(st.binary(max_size=200).map(lambda b: b), _rows(9).map(str.encode),
                 st.lists(_plausible_mot_row(), max_size=4).map(lambda rows: "".join(rows).encode())),
       st.one_of(st.none(), st.binary(max_size=80), st.dictionaries(
           st.sampled_from(["name", "seqLength", "frameRate", "imWidth", "imHeight"]), TOKENS, max_size=5).map(
           lambda d: ("[Sequence]\n" + "".join(f"{k}={v}\n" for k, v in d.items())).encode())))
def test_fuzz_mot_reader(gt: bytes, seqinfo: bytes | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "gt").mkdir()
        (root / "gt" / "gt.txt").write_bytes(gt)
        if seqinfo is not None:
            (root / "seqinfo.ini").write_bytes(seqinfo)
        _exercise(lambda doc: registry.get("mot").read(root, doc), root)
        _exercise(lambda doc: registry.get("mot-results").read(root / "gt" / "gt.txt", doc), root)


def _mots_row() -> st.SearchStrategy[str]:
    rle = st.one_of(st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=111), max_size=8),
                    st.sampled_from(["4<", "0", "19", "zz", ""]), st.text(max_size=5))
    return st.tuples(NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, rle).map(
        lambda row: " ".join(map(str, row)) + "\n")


@BUDGET
@given(st.one_of(st.binary(max_size=200), st.lists(_mots_row(), max_size=4).map(lambda rows: "".join(rows).encode()),
                 st.lists(st.tuples(st.integers(0, 5), st.integers(1000, 2010), st.sampled_from([4])).map(
                     lambda r: f"{r[0]} {r[1]} 2 {r[2]} {r[2]} 4<\n"), max_size=4).map(lambda rows: "".join(rows).encode())))
def test_fuzz_mots_reader(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.txt"
        path.write_bytes(content)
        _exercise(lambda doc: registry.get("mots").read(path, doc), Path(folder))


def _coco_document() -> st.SearchStrategy[dict[str, Any]]:
    """A COCO-VID file whose every value may be replaced by a hostile one."""
    def maybe(value: Any) -> st.SearchStrategy[Any]:
        return st.one_of(st.just(value), JSON_VALUES)

    segmentation = st.one_of(
        st.none(), JSON_VALUES,
        st.lists(st.lists(NUMBERS | st.none(), max_size=10), max_size=2),
        st.fixed_dictionaries({"size": maybe([48, 64]), "counts": st.one_of(st.text(max_size=6), JSON_VALUES,
                                                                              st.lists(st.integers(-5, 3100), max_size=4))}),
    )
    annotation = st.fixed_dictionaries({
        "id": maybe(1), "image_id": maybe(1), "video_id": maybe(1), "instance_id": maybe(1), "category_id": maybe(1),
        "bbox": st.one_of(st.just([1, 2, 10, 8]), st.lists(NUMBERS, max_size=5), JSON_VALUES),
        "score": maybe(0.9), "iscrowd": maybe(0), "segmentation": segmentation,
    })
    image = st.fixed_dictionaries({"id": maybe(1), "video_id": maybe(1), "frame_id": maybe(0), "width": maybe(64),
                                   "height": maybe(48)})
    return st.fixed_dictionaries({
        "videos": st.one_of(st.just([{"id": 1, "name": "clip"}]), st.lists(
            st.fixed_dictionaries({"id": maybe(1), "name": maybe("clip"), "fps": maybe(25)}), max_size=2), JSON_VALUES),
        "images": st.one_of(st.lists(image, max_size=3), JSON_VALUES),
        "annotations": st.one_of(st.lists(annotation, max_size=3), JSON_VALUES),
        "categories": st.one_of(st.lists(st.fixed_dictionaries({"id": maybe(1), "name": maybe("car")}), max_size=2),
                                JSON_VALUES),
        "tracks": st.one_of(st.just([]), st.lists(st.fixed_dictionaries({"id": maybe(1)}), max_size=2), JSON_VALUES),
    })


@BUDGET
@given(st.one_of(st.binary(max_size=200), _coco_document().map(lambda d: json.dumps(d).encode())))
def test_fuzz_cocovid_reader(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.json"
        path.write_bytes(content)
        _exercise(lambda doc: registry.get("cocovid").read(path, doc), Path(folder))


@BUDGET
@given(st.lists(st.tuples(st.one_of(st.integers(0, 12).map(lambda n: f"{n:06d}"), st.text(max_size=5),
                                    st.sampled_from(["99999999999999999999999", "frame"])),
                          st.one_of(_rows(5), _rows(6), st.binary(max_size=40).map(lambda b: b.decode("latin-1")))),
                max_size=3),
       st.one_of(st.none(), st.binary(max_size=60),
                 st.dictionaries(st.sampled_from(["names", "path", "nc"]), JSON_VALUES, max_size=2).map(
                     lambda d: yaml.safe_dump(d).encode()),
                 st.dictionaries(JSON_VALUES.filter(lambda k: isinstance(k, (int, float, str, type(None)))),
                                 JSON_VALUES, max_size=3).map(lambda names: yaml.safe_dump({"names": names}).encode())),
       st.booleans())
def test_fuzz_yolo_reader(labels: list[tuple[str, str]], data_yaml: bytes | None, sidecar: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "yolo"
        (root / "labels").mkdir(parents=True)
        for stem, text in labels:
            if not stem or "/" in stem or "\x00" in stem or stem in (".", ".."):
                continue
            (root / "labels" / f"{stem}.txt").write_text(text, encoding="utf-8", errors="surrogateescape")
            if sidecar:
                (root / "track_ids").mkdir(exist_ok=True)
                (root / "track_ids" / f"{stem}.txt").write_text(text.split("\n", 1)[0] + "\n", errors="surrogateescape")
        if data_yaml is not None:
            (root / "data.yaml").write_bytes(data_yaml)
        _exercise(lambda doc: registry.get("yolo").read(root, doc, image_size=None if doc else (64, 48)),
                  Path(folder))


def _cvat_document() -> st.SearchStrategy[str]:
    attribute = st.one_of(TOKENS, st.just("1"))
    box = st.tuples(attribute, attribute, attribute, attribute, attribute, st.sampled_from(["0", "1"]),
                    st.one_of(st.none(), attribute)).map(
        lambda b: f'<box frame="{b[0]}" xtl="{b[1]}" ytl="{b[2]}" xbr="{b[3]}" ybr="{b[4]}" outside="{b[5]}">'
                  + ("" if b[6] is None else f'<attribute name="visibility">{b[6]}</attribute>') + "</box>")
    track = st.tuples(attribute, st.lists(box, max_size=3)).map(
        lambda t: f'<track id="{t[0]}" label="car">' + "".join(t[1]) + "</track>")
    meta = st.tuples(attribute, attribute, attribute).map(
        lambda m: f"<meta><task><stop_frame>{m[0]}</stop_frame><original_size><width>{m[1]}</width>"
                  f"<height>{m[2]}</height></original_size></task></meta>")
    return st.tuples(meta, st.lists(track, max_size=3)).map(
        lambda d: '<?xml version="1.0"?><annotations><version>1.1</version>' + d[0] + "".join(d[1]) + "</annotations>")


@BUDGET
@given(st.one_of(st.binary(max_size=200), _cvat_document().map(lambda text: text.replace("&", "&amp;")
                                                                 .replace("\x00", "").encode("utf-8", "surrogatepass"))))
def test_fuzz_cvat_reader(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.xml"
        path.write_bytes(content)
        _exercise(lambda doc: registry.get("cvat").read(path, doc), Path(folder))
