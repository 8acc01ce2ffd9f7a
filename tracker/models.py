"""Official SAM2 checkpoints: names, download URLs, checksums, configs and the local cache.

``ensure_checkpoint("tiny")`` returns the cached ``sam2.1_hiera_tiny.pt``, downloading it first if
needed (progress bar, resume of an interrupted ``.part`` file with an HTTP Range request, SHA-256
check, atomic rename). A cached official file is checked against its SHA-256 on every use unless it was
verified at its current size and modification time (recorded beside it in ``<file>.verified``), and
``load_weights`` refuses any checkpoint whose weights do not fit the model config or are not finite. The cache is ``platformdirs.user_cache_dir("masklet")/models`` unless
``$MASKLET_MODELS`` names another folder; ``$MASKLET_MODEL_URL`` (or ``base_url=``) replaces the
download host ``https://dl.fbaipublicfiles.com/segment_anything_2``. Every problem the user can fix
(offline, truncated or corrupt download, a file that is not a SAM2 checkpoint) raises
``CheckpointError`` with a one-line message saying what to fetch and where to put it.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from tqdm import tqdm

from tracker.errors import CheckpointError
from tracker.files import remove, temp_path

if TYPE_CHECKING:  # torch is imported where it is used, so that CLI modules can import this one cheaply
    import torch

DEFAULT_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything_2"
MODEL_NAMES = ("tiny", "small", "base_plus", "large")
VERSIONS = ("2.1", "2.0")
_SHORT_NAMES = {"tiny": "t", "small": "s", "base_plus": "b+", "large": "l"}
_RELEASE_DIRS = {"2.1": "092824", "2.0": "072824"}
_SAM2_MODULES = frozenset(
    {"image_encoder", "memory_attention", "memory_encoder", "sam_prompt_encoder", "sam_mask_decoder"}
)
_CHUNK = 1 << 20
_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Sam2Checkpoint:
    """One official SAM2 checkpoint and the ``sam2`` package config it pairs with."""

    name: str
    version: str
    filename: str
    config: str
    sha256: str | None

    def url(self, base_url: str | None = None) -> str:
        """Download URL; ``base_url`` (else ``$MASKLET_MODEL_URL``) replaces the official host."""
        base = base_url or os.environ.get("MASKLET_MODEL_URL") or DEFAULT_BASE_URL
        return f"{base.rstrip('/')}/{_RELEASE_DIRS[self.version]}/{self.filename}"


def _checkpoint(name: str, version: str, sha256: str | None) -> Sam2Checkpoint:
    stem = "sam2.1_hiera" if version == "2.1" else "sam2_hiera"
    folder = "sam2.1" if version == "2.1" else "sam2"
    return Sam2Checkpoint(
        name, version, f"{stem}_{name}.pt", f"configs/{folder}/{stem}_{_SHORT_NAMES[name]}.yaml", sha256
    )


# SHA-256 of the SAM2.1 files as published by several independent projects that pin them; the
# SAM2.0 files have no reliably published hash, so they are checked for size and structure only.
CHECKPOINTS: dict[tuple[str, str], Sam2Checkpoint] = {
    (c.version, c.name): c
    for c in (
        _checkpoint("tiny", "2.1", "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69"),
        _checkpoint("small", "2.1", "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38"),
        _checkpoint("base_plus", "2.1", "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5"),
        _checkpoint("large", "2.1", "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318"),
        *(_checkpoint(name, "2.0", None) for name in MODEL_NAMES),
    )
}


def checkpoint_info(name: str, version: str = "2.1") -> Sam2Checkpoint:
    """The official checkpoint called ``name`` (tiny, small, base_plus, large) of a SAM2 version."""
    try:
        return CHECKPOINTS[(version, name)]
    except KeyError:
        raise CheckpointError(
            f"unknown SAM2 model {name!r} (version {version!r}): use one of {', '.join(MODEL_NAMES)} "
            f"with version {' or '.join(VERSIONS)}, or a path to a .pt checkpoint"
        ) from None


_TRUNK_BLOCKS = {12: "tiny", 16: "small", 24: "base_plus", 48: "large"}
"""Hiera blocks of each SAM2 size (stages 1-2-7-2, 1-2-11-2, 2-3-16-3, 2-6-36-4)."""


def config_for_file(path: str | Path) -> str:
    """The ``sam2`` config of a checkpoint: from a file name such as ``sam2.1_hiera_small.pt``, else
    (a fine-tuned ``my-model.pt``) from its weights: the number of image-encoder blocks gives the size,
    the 2.1-only ``no_obj_embed_spatial`` the version."""
    name = Path(path).name.lower()
    for checkpoint in CHECKPOINTS.values():
        if name == checkpoint.filename:
            return checkpoint.config
    aliases = {alias: size for size, short in _SHORT_NAMES.items() for alias in (size, short)}
    found = re.search(r"hiera[_-](base_plus|b\+|tiny|small|large|t|s|l)(?![a-z])", name)
    if found is not None:
        return CHECKPOINTS[("2.1" if "sam2.1" in name else "2.0", aliases[found.group(1)])].config
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    state = read_state_dict(path)
    blocks = {int(key.split(".")[3]) for key in state if key.startswith("image_encoder.trunk.blocks.")}
    size = _TRUNK_BLOCKS.get(len(blocks))
    if size is None:
        raise CheckpointError(f"{Path(path).name}: an image encoder of {len(blocks)} blocks is no SAM2 model")
    return CHECKPOINTS[("2.1" if "no_obj_embed_spatial" in state else "2.0", size)].config


def models_dir() -> Path:
    """Where downloaded checkpoints live: ``$MASKLET_MODELS`` or the user cache folder."""
    override = os.environ.get("MASKLET_MODELS")
    return Path(override) if override else Path(platformdirs.user_cache_dir("masklet")) / "models"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``model`` state dict of a SAM2 checkpoint file; ``CheckpointError`` if it is not one."""
    import torch

    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a SAM2 checkpoint (not a PyTorch zip file)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for a damaged archive
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({exc})") from exc
    state = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is not a SAM2 checkpoint (no 'model' state dict)")
    missing = _SAM2_MODULES - {key.split(".", 1)[0] for key in state}
    if missing:
        raise CheckpointError(f"{path} is not a SAM2 checkpoint (no weights for {', '.join(sorted(missing))})")
    return state


def load_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load a checkpoint into ``model``; its keys and shapes must match the model's config exactly, and every
    weight must be finite."""
    import torch

    state = read_state_dict(path)
    expected = model.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    mismatched = sorted(k for k in expected.keys() & state.keys() if expected[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        details = "; ".join(
            f"{label} {len(keys)} (e.g. {keys[0]})"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched))
            if keys
        )
        raise CheckpointError(f"{Path(path).name} does not match the SAM2 model config: {details}")
    damaged = {key: int((~torch.isfinite(value)).sum()) for key, value in state.items()
               if value.is_floating_point() and not bool(torch.isfinite(value).all())}
    if damaged:
        raise CheckpointError(
            f"{path}: {sum(damaged.values())} weights are not finite (NaN or inf) in {len(damaged)} tensors "
            f"(e.g. {next(iter(damaged))}): the file is damaged"
        )
    model.load_state_dict(state)


def ensure_checkpoint(
    name_or_path: str | Path,
    download: bool = True,
    *,
    version: str = "2.1",
    base_url: str | None = None,
    progress: bool = True,
) -> Path:
    """Path of a usable SAM2 checkpoint.

    A path to an existing file is validated and returned. A model name (tiny, small, base_plus,
    large) resolves to the cached official file of ``version``, downloaded first when missing and
    ``download`` is true.
    """
    if str(name_or_path) not in MODEL_NAMES:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise CheckpointError(
                f"SAM2 checkpoint {path} not found (give an existing .pt file or one of {', '.join(MODEL_NAMES)})"
            )
        read_state_dict(path)
        return path
    checkpoint = checkpoint_info(str(name_or_path), version)
    dest = models_dir() / checkpoint.filename
    if dest.is_file():
        _verify_cached(checkpoint, dest)
        return dest
    url = checkpoint.url(base_url)
    if not download:
        raise CheckpointError(_fetch_hint(checkpoint, url, dest, "downloads are disabled"))
    _download(checkpoint, url, dest, progress)
    return dest


def _fetch_hint(checkpoint: Sam2Checkpoint, url: str, dest: Path, reason: str) -> str:
    return (
        f"SAM2 checkpoint {checkpoint.filename} is not available ({reason}): download {url} "
        f"and save it as {dest}, or pass --sam2 PATH"
    )


def _download(checkpoint: Sam2Checkpoint, url: str, dest: Path, progress: bool) -> None:
    """Fetch ``url`` into ``dest`` via ``dest.part`` (resumed if present), verify, rename."""
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _fetch(url, part, progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        kept = part.stat().st_size if part.is_file() else 0
        resume = f"; {kept} bytes kept in {part.name}, run again to resume" if kept else ""
        raise CheckpointError(_fetch_hint(checkpoint, url, dest, f"{reason}{resume}")) from exc
    if checkpoint.sha256 is not None:
        digest = _sha256(part)
        if digest != checkpoint.sha256:
            part.unlink()
            reason = f"downloaded file has SHA-256 {digest}, expected {checkpoint.sha256}"
            raise CheckpointError(_fetch_hint(checkpoint, url, dest, reason))
    try:
        read_state_dict(part)
    except CheckpointError as exc:
        part.unlink()
        raise CheckpointError(_fetch_hint(checkpoint, url, dest, f"the download is damaged: {exc}")) from None
    os.replace(part, dest)
    if checkpoint.sha256 is not None:
        _record_verified(dest, checkpoint.sha256)


def _verified_record(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified")


def _fingerprint(dest: Path, sha256: str) -> dict[str, int | str]:
    stat = dest.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _verify_cached(checkpoint: Sam2Checkpoint, dest: Path) -> None:
    """Check a cached official file against its SHA-256, unless it was verified at its current size and
    modification time."""
    if checkpoint.sha256 is None:
        return
    try:
        if json.loads(_verified_record(dest).read_text()) == _fingerprint(dest, checkpoint.sha256):
            return
    except (OSError, ValueError):
        pass
    digest = _sha256(dest)
    if digest != checkpoint.sha256:
        raise CheckpointError(
            f"{dest}: damaged (SHA-256 {digest}, the official {checkpoint.filename} has {checkpoint.sha256}); "
            "delete it to download it again"
        )
    _record_verified(dest, checkpoint.sha256)


def _record_verified(dest: Path, sha256: str) -> None:
    """Note that ``dest`` has been verified at its size and modification time (skipped where the cache is
    read-only: the file is then verified on every use)."""
    record = _verified_record(dest)
    temp = temp_path(record)
    try:
        temp.write_text(json.dumps(_fingerprint(dest, sha256)))
        os.replace(temp, record)
    except OSError:
        remove(temp)


def _fetch(url: str, part: Path, progress: bool) -> None:
    """Append the rest of ``url`` to ``part``; raise ``OSError`` if the transfer ends short."""
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the .part file already holds the whole file
            return
        raise
    with response:
        if response.status != 206:
            offset = 0  # the server ignored the Range request: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(part, "ab" if offset else "wb") as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=part.name[:-5], disable=not progress
        ) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise OSError(f"transfer ended after {size} of {total} bytes")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
