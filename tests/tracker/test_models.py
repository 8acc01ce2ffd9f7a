"""Checkpoint registry, cache, download (against a local HTTP server) and validation."""
from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sam2
import torch

from tracker import models
from tracker.errors import CheckpointError
from tracker.models import (
    CHECKPOINTS,
    MODEL_NAMES,
    checkpoint_info,
    config_for_file,
    ensure_checkpoint,
    load_weights,
    models_dir,
    read_state_dict,
)
from tracker.sam2_engine import SAM2Engine

SAM2_MODULES = ("image_encoder", "memory_attention", "memory_encoder", "sam_prompt_encoder", "sam_mask_decoder")


def _checkpoint_bytes(payload: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


FAKE_SAM2 = _checkpoint_bytes({"model": {f"{m}.weight": torch.arange(4096.0) for m in SAM2_MODULES}})
NOT_SAM2 = _checkpoint_bytes({"model": {"backbone.weight": torch.zeros(3)}})


@dataclass
class Served:
    """What the test server answers: ``files`` by URL path; ``truncate`` sends half of a body."""

    files: dict[str, bytes] = field(default_factory=dict)
    truncate: bool = False
    ranges: list[str | None] = field(default_factory=list)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            data = served.files.get(self.path)
            served.ranges.append(self.headers.get("Range"))
            if data is None:
                self.send_error(404)
                return
            start = 0
            if self.headers.get("Range"):
                start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if served.truncate else body)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MASKLET_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("MASKLET_MODEL_URL", raising=False)
    return tmp_path / "models"


def _serve_tiny(served: Served, data: bytes, monkeypatch: pytest.MonkeyPatch, sha256: str | None = "auto") -> Path:
    """Serve ``data`` as sam2.1_hiera_tiny.pt, registered with ``sha256`` (default: its real hash)."""
    info = checkpoint_info("tiny")
    digest = hashlib.sha256(data).hexdigest() if sha256 == "auto" else sha256
    monkeypatch.setitem(CHECKPOINTS, ("2.1", "tiny"), replace(info, sha256=digest))
    served.files[f"/092824/{info.filename}"] = data
    return models_dir() / info.filename


def test_registry_matches_the_official_files() -> None:
    package = Path(sam2.__file__).parent
    for version, release, stem in (("2.1", "092824", "sam2.1_hiera"), ("2.0", "072824", "sam2_hiera")):
        for name in MODEL_NAMES:
            info = checkpoint_info(name, version)
            assert info.filename == f"{stem}_{name}.pt"
            assert info.url() == f"https://dl.fbaipublicfiles.com/segment_anything_2/{release}/{info.filename}"
            assert (package / info.config).is_file()
            assert config_for_file(f"/somewhere/{info.filename}") == info.config
            assert (info.sha256 is not None) == (version == "2.1")
    assert config_for_file("my-sam2.1_hiera_b+_finetuned.pt") == "configs/sam2.1/sam2.1_hiera_b+.yaml"
    assert config_for_file("sam2_hiera_l.pt") == "configs/sam2/sam2_hiera_l.yaml"
    with pytest.raises(CheckpointError, match="weights.pt"):
        config_for_file("weights.pt")
    with pytest.raises(CheckpointError, match="huge"):
        checkpoint_info("huge")


def test_cache_folder_and_url_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASKLET_MODELS", raising=False)
    assert models_dir().parts[-2:] == ("masklet", "models")
    monkeypatch.setenv("MASKLET_MODELS", str(tmp_path))
    assert models_dir() == tmp_path
    monkeypatch.setenv("MASKLET_MODEL_URL", "http://mirror.local/sam2/")
    assert checkpoint_info("small").url() == "http://mirror.local/sam2/092824/sam2.1_hiera_small.pt"


def test_download_verifies_and_caches(cache: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, served = server
    dest = _serve_tiny(served, FAKE_SAM2, monkeypatch)
    assert ensure_checkpoint("tiny", base_url=url, progress=False) == dest
    assert dest.read_bytes() == FAKE_SAM2
    assert not dest.with_name(dest.name + ".part").exists()
    served.files.clear()  # a second call uses the cache
    assert ensure_checkpoint("tiny", base_url=url, progress=False) == dest
    assert served.ranges == [None]


def test_download_resumes_a_part_file(cache: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, served = server
    dest = _serve_tiny(served, FAKE_SAM2, monkeypatch)
    half = len(FAKE_SAM2) // 2
    cache.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(FAKE_SAM2[:half])
    ensure_checkpoint("tiny", base_url=url, progress=False)
    assert served.ranges == [f"bytes={half}-"]
    assert dest.read_bytes() == FAKE_SAM2


def test_truncated_download_keeps_the_part_file_for_a_resume(cache: Path, server, monkeypatch) -> None:
    url, served = server
    dest = _serve_tiny(served, FAKE_SAM2, monkeypatch)
    served.truncate = True
    with pytest.raises(CheckpointError, match="resume") as error:
        ensure_checkpoint("tiny", base_url=url, progress=False)
    part = dest.with_name(dest.name + ".part")
    assert 0 < part.stat().st_size < len(FAKE_SAM2) and not dest.exists()
    assert "\n" not in str(error.value)
    served.truncate = False
    ensure_checkpoint("tiny", base_url=url, progress=False)
    assert served.ranges[-1] == f"bytes={len(FAKE_SAM2) // 2}-"
    assert dest.read_bytes() == FAKE_SAM2


def test_bad_checksum_is_rejected(cache: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, served = server
    dest = _serve_tiny(served, FAKE_SAM2, monkeypatch, sha256="0" * 64)
    with pytest.raises(CheckpointError, match="SHA-256"):
        ensure_checkpoint("tiny", base_url=url, progress=False)
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


@pytest.mark.parametrize("data", [b"<html>not found</html>", NOT_SAM2, _checkpoint_bytes({"weights": {}})])
def test_download_that_is_not_a_sam2_checkpoint(cache: Path, server, monkeypatch, data: bytes) -> None:
    url, served = server
    dest = _serve_tiny(served, data, monkeypatch, sha256=None)
    with pytest.raises(CheckpointError, match="not a SAM2 checkpoint|not a PyTorch zip"):
        ensure_checkpoint("tiny", base_url=url, progress=False)
    assert not dest.exists()


def test_offline_error_says_what_to_fetch_and_where(cache: Path) -> None:
    info = checkpoint_info("base_plus")
    with pytest.raises(CheckpointError) as error:
        ensure_checkpoint("base_plus", base_url="http://127.0.0.1:9/", progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert info.filename in message and "http://127.0.0.1:9/092824/sam2.1_hiera_base_plus.pt" in message
    assert str(cache / info.filename) in message and "--sam2 PATH" in message
    with pytest.raises(CheckpointError, match="downloads are disabled"):
        ensure_checkpoint("base_plus", download=False)


def test_local_files_are_validated(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        ensure_checkpoint(tmp_path / "missing.pt")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a PyTorch zip"):
        ensure_checkpoint(text)
    other = tmp_path / "resnet.pt"
    other.write_bytes(NOT_SAM2)
    with pytest.raises(CheckpointError, match="not a SAM2 checkpoint"):
        ensure_checkpoint(other)
    good = tmp_path / "sam2.1_hiera_tiny.pt"
    good.write_bytes(FAKE_SAM2)
    assert ensure_checkpoint(good) == good
    assert set(read_state_dict(good)) == {f"{m}.weight" for m in SAM2_MODULES}


def test_engine_builds_the_config_of_the_version() -> None:
    sam21 = SAM2Engine("tiny", "cpu", image_size=128, random_init=True).sam
    sam20 = SAM2Engine("tiny", "cpu", version="2.0", image_size=128, random_init=True).sam
    assert sam21.no_obj_embed_spatial is not None and sam20.no_obj_embed_spatial is None  # a 2.1 addition
    assert sam21.image_size == sam20.image_size == 128


def test_engine_loads_a_checkpoint_whose_keys_match_the_config(tmp_path: Path) -> None:
    donor = SAM2Engine("tiny", "cpu", image_size=128, random_init=True, seed=1).sam
    state = donor.state_dict()
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": state}, path)
    engine = SAM2Engine(path, "cpu", image_size=128)
    for key, value in engine.sam.state_dict().items():
        assert torch.equal(value, state[key]), key

    partial = tmp_path / "sam2.1_hiera_small.pt"  # the name says small, the weights are tiny
    torch.save({"model": state}, partial)
    with pytest.raises(CheckpointError, match="does not match the SAM2 model config"):
        SAM2Engine(partial, "cpu", image_size=128)
    del state["no_mem_embed"]
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match="missing 1"):
        load_weights(donor, path)


def test_a_cached_official_file_is_verified_once_per_size_and_mtime(cache: Path, monkeypatch) -> None:
    info = checkpoint_info("tiny")
    monkeypatch.setitem(CHECKPOINTS, ("2.1", "tiny"), replace(info, sha256=hashlib.sha256(FAKE_SAM2).hexdigest()))
    dest = models_dir() / info.filename
    cache.mkdir(parents=True)
    dest.write_bytes(FAKE_SAM2)  # put there by hand, never checked
    assert ensure_checkpoint("tiny", download=False) == dest
    assert dest.with_name(dest.name + ".verified").is_file()

    hashed = []
    real_sha256 = models._sha256
    monkeypatch.setattr(models, "_sha256", lambda path: hashed.append(path) or real_sha256(path))
    assert ensure_checkpoint("tiny", download=False) == dest
    assert hashed == []  # verified already at this size and mtime

    damaged = bytearray(FAKE_SAM2)
    damaged[len(damaged) // 2: len(damaged) // 2 + 64] = bytes(range(64))
    dest.write_bytes(bytes(damaged))  # same size, new mtime
    with pytest.raises(CheckpointError, match="damaged .*delete it to download it again") as error:
        ensure_checkpoint("tiny", download=False)
    assert hashed == [dest] and "\n" not in str(error.value)
    assert dest.read_bytes() == bytes(damaged)  # reported, not deleted behind the user's back


def test_a_checkpoint_with_non_finite_weights_is_refused(tmp_path: Path) -> None:
    state = SAM2Engine("tiny", "cpu", image_size=128, random_init=True, seed=1).sam.state_dict()
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() >= 100)
    state[key] = state[key].clone()
    state[key].view(-1)[:100] = float("nan")
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match=f"100 weights are not finite .*e.g. {key}.*damaged") as error:
        SAM2Engine(path, "cpu", image_size=128)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("version", ["2.1", "2.0"])
def test_a_custom_checkpoint_name_takes_its_config_from_its_weights(tmp_path: Path, version: str) -> None:
    """A fine-tuned ``my-model.pt``: its size and version are read from its tensors, and it loads."""
    state = SAM2Engine("tiny", "cpu", version=version, image_size=128, random_init=True, seed=1).sam.state_dict()
    path = tmp_path / "my-finetuned-model.pt"
    torch.save({"model": state}, path)
    assert config_for_file(path) == checkpoint_info("tiny", version).config
    engine = SAM2Engine(path, "cpu", image_size=128)
    assert torch.equal(engine.sam.state_dict()["no_mem_embed"], state["no_mem_embed"])
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        config_for_file(tmp_path / "missing.pt")
