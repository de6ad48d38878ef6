#!/usr/bin/python3
"""Builds what bench/generate.sh needs into OUT (default bench/out/gen), once: run again, it skips
what is there.

    /usr/bin/python3 bench/text/make_gpt_bench.py [OUT]

  gpt2-l4-h256/  a larger synthetic decoder than the gpt2-tiny fixture, built with the fixture's own
                 torch module (make_hf_fixtures.py's GptLMHead, its byte-level BPE tokenizer.json,
                 exported with past key/values under Optimum's names): 4 layers, hidden 256, 8 heads,
                 256 positions. Random weights: speed only; its end-of-sequence token is never chosen,
                 so every generation runs its full max_tokens. ~13 MB, never committed.
  gpt2-tiny-noeos/  the gpt2-tiny fixture with the same change, so that its generations too run
                 their full length.
  prompts.txt    32 prompts of 4-12 words from the fixture vocabulary, fixed seed.
"""
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "server", "src", "test", "resources", "fixtures", "hf")
sys.path.insert(0, FIXTURES)

import make_hf_fixtures as hf  # noqa: E402  (torch, onnx: Debian's python3)
import torch  # noqa: E402


def export(directory, model, byte_map, vocab, merges):
    eos = len(vocab)
    shutil.rmtree(directory, ignore_errors=True)
    hf.write_json(os.path.join(directory, "config.json"), {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": len(vocab) + 1,
        "n_positions": hf.GPT_POSITIONS, "n_ctx": hf.GPT_POSITIONS, "n_embd": hf.GPT_HIDDEN,
        "n_head": hf.GPT_HEADS, "n_layer": hf.GPT_LAYERS, "bos_token_id": eos, "eos_token_id": eos})
    hf.write_json(os.path.join(directory, "generation_config.json"), {"bos_token_id": eos, "eos_token_id": eos})
    hf.write_json(os.path.join(directory, "tokenizer.json"), hf.bpe_tokenizer_json(vocab, merges))
    hf.write_json(os.path.join(directory, "tokenizer_config.json"), {
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": hf.GPT_POSITIONS, "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})
    hf.export_decoder(model, os.path.join(directory, "onnx", "model.onnx"))


def build(directory, layers, hidden, heads, positions, seed):
    hf.GPT_LAYERS, hf.GPT_HIDDEN, hf.GPT_HEADS, hf.GPT_POSITIONS = layers, hidden, heads, positions
    byte_map, vocab, merges = hf.bpe_model()
    model = hf.GptLMHead(len(vocab) + 1)
    hf.initialise(model, seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.reset_parameters()
        for name, p in model.named_parameters():
            if "ln_" not in name:
                torch.nn.init.normal_(p, std=0.02)
        model.logit_bias[len(vocab)] = -1e4  # never the end of sequence: full-length generations
    export(directory, model, byte_map, vocab, merges)


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "out", "gen"))
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1515)
    words = hf.WORDS.split() if isinstance(hf.WORDS, str) else list(hf.WORDS)
    with open(os.path.join(out, "prompts.txt"), "w", encoding="utf-8") as f:
        for _ in range(32):
            f.write(" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + "\n")
    for name, shape in (("gpt2-l4-h256", (4, 256, 8, 256, 1516)), ("gpt2-tiny-noeos", (2, 32, 4, 64, 1517))):
        if not os.path.exists(os.path.join(out, name, "onnx", "model.onnx")):
            build(os.path.join(out, name), *shape)


if __name__ == "__main__":
    main()
