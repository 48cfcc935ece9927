"""Read CTranslate2 Whisper checkpoints and convert them to openai-whisper's format.

The layout of ``model.bin`` and the name mapping are documented in
docs/architecture.md ("CTranslate2 Whisper -> openai-whisper checkpoint").
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from subgen.core.errors import ModelNotAvailable

log = logging.getLogger(__name__)

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BF16 = 5


@dataclass(frozen=True)
class Ct2Model:
    """The variables of a CTranslate2 Whisper ``model.bin``, by name."""

    spec: str
    variables: dict[str, np.ndarray]


def _read(fh: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("unexpected end of file")
    return struct.unpack("<" + fmt, data)[0]


def _read_string(fh: BinaryIO) -> str:
    length = _read(fh, "H")
    return fh.read(length)[:-1].decode("utf-8")


def _read_array(fh: BinaryIO) -> np.ndarray:
    rank = _read(fh, "B")
    shape = tuple(_read(fh, "I") for _ in range(rank))
    dtype_id = _read(fh, "B")
    nbytes = _read(fh, "I")
    raw = fh.read(nbytes)
    if len(raw) != nbytes:
        raise ValueError("unexpected end of file")
    if dtype_id == _BF16:
        # bfloat16 is the top half of a float32.
        as_u32 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return as_u32.view(np.float32).astype(np.float16).reshape(shape)
    if dtype_id not in _DTYPES:
        raise ValueError(f"unsupported dtype id {dtype_id}")
    return np.frombuffer(raw, dtype=np.dtype(_DTYPES[dtype_id]).newbyteorder("<")).reshape(shape)


def read_model_bin(path: Path) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` into named arrays (aliases resolved)."""
    try:
        with path.open("rb") as fh:
            version = _read(fh, "I")
            if version < 5:
                raise ValueError(f"binary version {version} is too old")
            spec = _read_string(fh)
            _read(fh, "I")  # spec revision
            count = _read(fh, "I")
            variables = {}
            for _ in range(count):
                name = _read_string(fh)
                variables[name] = _read_array(fh)
            for _ in range(_read(fh, "I")):
                alias, target = _read_string(fh), _read_string(fh)
                variables[alias] = variables[target]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotAvailable(
            f"{path}: not a readable CTranslate2 model ({exc}); reinstall the model package"
        ) from exc
    if spec != "WhisperSpec":
        raise ModelNotAvailable(f"{path}: holds a {spec}, not a Whisper model")
    return Ct2Model(spec=spec, variables=variables)


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    return len({m.group(1) for name in variables if (m := pattern.match(name))})


def _attention(src: dict[str, np.ndarray], ct2: str, dst: str, fused_qkv: bool) -> dict:
    out = {}
    if fused_qkv:
        q_w, k_w, v_w = np.split(src[f"{ct2}/linear_0/weight"], 3)
        q_b, _, v_b = np.split(src[f"{ct2}/linear_0/bias"], 3)
        out_proj = "linear_1"
    else:
        q_w, q_b = src[f"{ct2}/linear_0/weight"], src[f"{ct2}/linear_0/bias"]
        k_w, v_w = np.split(src[f"{ct2}/linear_1/weight"], 2)
        _, v_b = np.split(src[f"{ct2}/linear_1/bias"], 2)
        out_proj = "linear_2"
    # Whisper's key projection has no bias, so the key third of the fused bias is dropped.
    out.update(
        {
            f"{dst}.query.weight": q_w,
            f"{dst}.query.bias": q_b,
            f"{dst}.key.weight": k_w,
            f"{dst}.value.weight": v_w,
            f"{dst}.value.bias": v_b,
            f"{dst}.out.weight": src[f"{ct2}/{out_proj}/weight"],
            f"{dst}.out.bias": src[f"{ct2}/{out_proj}/bias"],
        }
    )
    return out


def _norm(src: dict[str, np.ndarray], ct2: str, dst: str) -> dict:
    return {f"{dst}.weight": src[f"{ct2}/gamma"], f"{dst}.bias": src[f"{ct2}/beta"]}


def _ffn(src: dict[str, np.ndarray], ct2: str, dst: str) -> dict:
    return {
        f"{dst}.mlp.0.weight": src[f"{ct2}/linear_0/weight"],
        f"{dst}.mlp.0.bias": src[f"{ct2}/linear_0/bias"],
        f"{dst}.mlp.2.weight": src[f"{ct2}/linear_1/weight"],
        f"{dst}.mlp.2.bias": src[f"{ct2}/linear_1/bias"],
        **_norm(src, f"{ct2}/layer_norm", f"{dst}.mlp_ln"),
    }


def _encoder_state(v: dict[str, np.ndarray]) -> dict:
    state = {
        "encoder.conv1.weight": v["encoder/conv1/weight"],
        "encoder.conv1.bias": v["encoder/conv1/bias"],
        "encoder.conv2.weight": v["encoder/conv2/weight"],
        "encoder.conv2.bias": v["encoder/conv2/bias"],
        "encoder.positional_embedding": v["encoder/position_encodings/encodings"],
        **_norm(v, "encoder/layer_norm", "encoder.ln_post"),
    }
    for i in range(_layer_count(v, "encoder")):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        state.update(_attention(v, f"{src}/self_attention", f"{dst}.attn", fused_qkv=True))
        state.update(_norm(v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
        state.update(_ffn(v, f"{src}/ffn", dst))
    return state


def _decoder_state(v: dict[str, np.ndarray]) -> dict:
    state = {
        "decoder.token_embedding.weight": v["decoder/embeddings/weight"],
        "decoder.positional_embedding": v["decoder/position_encodings/encodings"],
        **_norm(v, "decoder/layer_norm", "decoder.ln"),
    }
    for i in range(_layer_count(v, "decoder")):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        state.update(_attention(v, f"{src}/self_attention", f"{dst}.attn", fused_qkv=True))
        state.update(_norm(v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
        state.update(_attention(v, f"{src}/attention", f"{dst}.cross_attn", fused_qkv=False))
        state.update(_norm(v, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln"))
        state.update(_ffn(v, f"{src}/ffn", dst))
    return state


def model_dims(v: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper ``ModelDimensions`` fields read off the tensor shapes."""
    n_mels = v["encoder/conv1/weight"].shape[1]
    audio_ctx, audio_state = v["encoder/position_encodings/encodings"].shape
    text_ctx, text_state = v["decoder/position_encodings/encodings"].shape
    return {
        "n_mels": int(n_mels),
        "n_audio_ctx": int(audio_ctx),
        "n_audio_state": int(audio_state),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": _layer_count(v, "encoder"),
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(text_ctx),
        "n_text_state": int(text_state),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": _layer_count(v, "decoder"),
    }


def alignment_heads_dump(pairs: list[list[int]], n_layer: int, n_head: int) -> bytes:
    """Encode (layer, head) pairs the way ``Whisper.set_alignment_heads`` expects."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in pairs:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def openai_checkpoint(ct2_dir: Path) -> dict:
    """Build an openai-whisper checkpoint dict (numpy fp16 weights) from a CTranslate2 dir."""
    variables = read_model_bin(ct2_dir / "model.bin").variables
    dims = model_dims(variables)
    state = {**_encoder_state(variables), **_decoder_state(variables)}
    config = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8"))
    pairs = config.get("alignment_heads") or []
    # Without pairs, openai-whisper's default (the upper half of the decoder layers) applies.
    heads = alignment_heads_dump(pairs, dims["n_text_layer"], dims["n_text_head"]) if pairs else None
    return {"dims": dims, "model_state_dict": state, "alignment_heads": heads}
