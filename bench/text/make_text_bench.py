#!/usr/bin/python3
"""Builds what bench/text.sh needs into OUT (default bench/out/text), once: run again, it skips
what is there.

    /usr/bin/python3 bench/text/make_text_bench.py [OUT]

  bert-l6-h384/   a larger synthetic encoder, built like the test fixtures (make_hf_fixtures.py's
                  torch modules, its WordPiece tokenizer.json, torch.onnx.export with the Optimum
                  input names): 6 layers, hidden 384, 12 heads, intermediate 1536, 128 positions,
                  sequence classification (NEGATIVE/POSITIVE). Random weights: speed only. ~45 MB,
                  never committed.
  texts-medium.txt  64 review-like sentences of 12-20 words (~15-30 tokens), one a line
  texts-short.txt   64 sentences of 3-5 words (~5-8 tokens)
  texts-long.txt    64 texts of 80-100 words (~90-120 tokens: under the large model's 128, cut
                    to 64 by the tiny one)
All from the fixture tokenizer's vocabulary and a fixed seed, so every run sends the same texts.
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "server", "src", "test", "resources", "fixtures", "hf")
sys.path.insert(0, FIXTURES)

import make_hf_fixtures as hf  # noqa: E402  (torch, onnx: Debian's python3)

NAME = "bert-l6-h384"


def texts(rng, words, low, high):
    out = []
    for _ in range(64):
        n = rng.randint(low, high)
        sentence = " ".join(rng.choice(words) for _ in range(n))
        out.append(sentence[0].upper() + sentence[1:] + rng.choice([".", "!", "."]))
    return out


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "out", "text"))
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1414)
    words = hf.WORDS
    for kind, low, high in (("medium", 12, 20), ("short", 3, 5), ("long", 80, 100)):
        write_lines(os.path.join(out, "texts-%s.txt" % kind), texts(rng, words, low, high))

    if os.path.exists(os.path.join(out, NAME, "onnx", "model.onnx")):
        return
    # The fixture modules read these globals when built and run: the larger shape, same code.
    hf.HIDDEN, hf.HEADS, hf.INTERMEDIATE, hf.LAYERS, hf.MAX_POSITIONS = 384, 12, 1536, 6, 128
    hf.HERE = out
    vocab = hf.wordpiece_vocab()
    model = hf.SequenceClassifier(len(vocab), len(hf.SST2_LABELS))
    hf.initialise(model, 1414)
    # BERT's own init scale: the fixture's 0.3 makes a deep model's activations explode (speed is
    # the same either way, but the scores should stay finite)
    import torch
    torch.manual_seed(1415)
    for name, p in model.named_parameters():
        if "norm" not in name:
            torch.nn.init.normal_(p, std=0.02)
    hf.write_bert_repo(NAME, model, "BertForSequenceClassification", vocab, hf.wordpiece_tokenizer_json(vocab),
                       hf.SST2_LABELS, ["logits"], {0: "batch_size"})


if __name__ == "__main__":
    main()
