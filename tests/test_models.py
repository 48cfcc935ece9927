"""Model resolution and the CTranslate2 -> openai-whisper conversion on the bundled weights."""

from __future__ import annotations

import pytest

from subgen.asr import models
from subgen.core.errors import ModelNotAvailable
from subgen.core.languages import LANGUAGE_CODES


def test_official_names_match_openai_whisper():
    import whisper

    assert set(models.OFFICIAL_NAMES) == set(whisper._MODELS)


def test_language_codes_match_whisper_tokenizer():
    from whisper.tokenizer import LANGUAGES

    assert set(LANGUAGE_CODES) == set(LANGUAGES)


@pytest.mark.parametrize(("name", "multilingual", "layers"), [("tiny.en", False, 4), ("base", True, 6)])
def test_bundled_model_converts_with_alignment_heads(name, multilingual, layers):
    import torch

    source = models.resolve(name)
    assert source.kind == "ct2" and source.multilingual is multilingual
    checkpoint = torch.load(models.openai_checkpoint_path(source), weights_only=False)
    dims = checkpoint["dims"]
    assert dims["n_text_layer"] == dims["n_audio_layer"] == layers
    assert dims["n_vocab"] == (51865 if multilingual else 51864)
    state = checkpoint["model_state_dict"]
    assert state["encoder.blocks.0.attn.query.weight"].dtype == torch.float16
    assert "encoder.blocks.0.attn.key.bias" not in state
    assert checkpoint["alignment_heads"] is not None


def test_conversion_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBGEN_CACHE_DIR", str(tmp_path))
    source = models.resolve("tiny.en")
    first = models.openai_checkpoint_path(source)
    stamp = first.stat().st_mtime_ns
    assert models.openai_checkpoint_path(source) == first
    assert first.stat().st_mtime_ns == stamp
    assert not list(first.parent.glob(".*.tmp"))


def test_converted_model_matches_faster_whisper_alignment_heads():
    """The heads decoded by openai-whisper are exactly the pairs in the CT2 config.json."""
    import json

    import torch
    import whisper

    source = models.resolve("base")
    checkpoint = torch.load(models.openai_checkpoint_path(source), weights_only=False)
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    model.set_alignment_heads(checkpoint["alignment_heads"])
    pairs = json.loads((source.path / "config.json").read_text())["alignment_heads"]
    assert sorted(map(list, model.alignment_heads.indices().T.tolist())) == sorted(pairs)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("no-such-model", "unknown model"), ("/nonexistent/model.pt", "not found")],
)
def test_bad_model_names_fail_clearly(spec, message):
    with pytest.raises(ModelNotAvailable, match=message):
        models.resolve(spec)


def test_folder_without_ct2_files_is_rejected(tmp_path):
    with pytest.raises(ModelNotAvailable, match="not a CTranslate2"):
        models.resolve(str(tmp_path))


def test_local_ct2_folder_resolves():
    tiny = models.resolve("tiny.en")
    again = models.resolve(str(tiny.path))
    assert again.kind == "ct2" and again.english_only


def test_named_model_offline_gives_clear_error(monkeypatch, tmp_path):
    """Official names download through openai-whisper; with no network the error says what to do."""
    from subgen.asr.engines.openai_whisper import OpenAIWhisperEngine

    monkeypatch.setenv("SUBGEN_CACHE_DIR", str(tmp_path))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # a closed loopback port: fails at once
    with pytest.raises(ModelNotAvailable, match="bundled model"):
        OpenAIWhisperEngine(models.resolve("small.en"), "cpu")
