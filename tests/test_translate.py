"""nat-export + nat-translate: every NAT kind round-trips through ONNX Runtime to the torch path,
the torch path equals fairseq-generate, batching changes nothing, bad inputs give one line.

Models are tiny with random weights (``nat.bench.checkpoints``): what is checked is that two
implementations compute the same thing, which needs no training.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nat import fairseq_cli
from nat.bench.checkpoints import random_checkpoint
from nat.errors import UserError
from nat.translate import export, search
from nat.translate.translator import Translator
from nat.translate.vocab import Vocabulary

SMALL = ["--encoder-embed-dim", "64", "--decoder-embed-dim", "64", "--encoder-ffn-embed-dim",
         "128", "--decoder-ffn-embed-dim", "128", "--encoder-layers", "1", "--decoder-layers",
         "1"]
#: name -> (arch, extra flags); DAG twice: both exportable walks
KINDS = {"vanilla": ("nat_vanilla_tiny", []), "glat": ("nat_glat_tiny", []),
         "ctc": ("nat_ctc_tiny", []), "ctc_glat": ("nat_ctc_glat_tiny", []),
         "dag_lookahead": ("nat_dag_tiny", ["--decode-strategy", "lookahead"]),
         "dag_greedy": ("nat_dag_tiny", ["--decode-strategy", "greedy",
                                         "--no-decode-dedup"])}
N_TEST = 60


def give_vanilla_work(path):
    """A random vanilla NAT predicts length 2 and copies its unk inputs (tied embeddings), so
    its outputs would be empty: point the length head at ``source length + 2`` and zero unk's
    embedding, so the decoder has positions to fill and fills them with varied tokens."""
    import torch

    state = torch.load(path, weights_only=True)
    weights = state["model"]
    direction = torch.randn(weights["decoder.embed_length.weight"].size(1),
                            generator=torch.Generator().manual_seed(0))
    direction = 3 * direction / direction.norm()
    weights["encoder.layers.0.final_layer_norm.bias"] = direction.clone()
    weights["decoder.embed_length.weight"][130] = direction         # offset 128: length + 2
    for name, tensor in weights.items():
        if name.endswith(("embed_tokens.weight", "output_projection.weight")):
            tensor[3] = 0
    torch.save(state, path)


@pytest.fixture(scope="module")
def models(toy_data_bin, tmp_path_factory):
    """name -> (checkpoint, export dir); exported through the real nat-export main()."""
    from data_scripts import export_cli

    root = tmp_path_factory.mktemp("nat_export")
    out = {}
    for seed, (name, (arch, extra)) in enumerate(KINDS.items(), 1):
        ckpt = random_checkpoint(toy_data_bin, arch, str(root / f"{name}.pt"),
                                 extra=SMALL + extra, seed=seed)
        if name == "vanilla":
            give_vanilla_work(ckpt)
        assert export_cli.main([ckpt, "--out", str(root / name)]) == 0
        out[name] = (ckpt, str(root / name))
    return out


@pytest.fixture(scope="module")
def test_lines(toy_corpus):
    with open(os.path.join(toy_corpus, "test.src"), encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.mark.parametrize("name", list(KINDS))
def test_onnx_equals_torch_and_batch_invariant(models, test_lines, name):
    ckpt, directory = models[name]
    onnx_b64 = Translator.open(directory, batch_size=64).translate(test_lines)
    onnx_b1 = Translator.open(directory, batch_size=1).translate(test_lines)
    torch_b64 = Translator.open(ckpt, batch_size=64).translate(test_lines)
    assert len(onnx_b64) == N_TEST
    assert onnx_b64 == torch_b64
    assert onnx_b1 == onnx_b64
    assert any(onnx_b64)                       # something was produced


def test_manifest(models):
    with open(os.path.join(models["dag_greedy"][1], "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["kind"] == "dag" and manifest["precision"] == "fp32"
    assert manifest["decode"] == {"strategy": "greedy", "dedup": False}
    assert manifest["prepend_bos"] is True and manifest["verified_fp32"] == "5/5"
    assert len(manifest["checkpoint"]["sha256"]) == 64
    assert set(manifest["sha256"]) == set(manifest["files"])


def test_torch_path_equals_fairseq_generate(models, toy_data_bin, test_lines, tmp_path,
                                            fairseq_worker):
    """The deployed path decodes what ``fairseq-generate --iter-decode-max-iter 0`` decodes
    (one fairseq worker for all kinds; every id checked)."""
    names = ["vanilla", "ctc", "dag_lookahead"]
    results = fairseq_cli.generate_many([dict(
        data_bin=toy_data_bin, checkpoint=models[name][0], expected=N_TEST,
        task="translation_lev", beam=1, batch_size=64,
        extra=["--iter-decode-max-iter", "0"]) for name in names], str(tmp_path),
        pool=fairseq_worker)
    for name, result in zip(names, results):
        ours = Translator.open(models[name][1]).translate(test_lines)
        assert ours == result.best(), name


def test_int8_export_translates(models, toy_data_bin, test_lines, tmp_path):
    out = export.export(export.ExportConfig(checkpoint=models["ctc"][0], out=str(tmp_path / "q"),
                                            int8=True))
    assert out["precision"] == "int8"
    hyps = Translator.open(str(tmp_path / "q")).translate(test_lines)
    assert len(hyps) == N_TEST and any(hyps)


def test_empty_and_long_lines(models):
    translator = Translator.open(models["ctc"][1])
    limit = translator.backend.max_positions
    long_line = " ".join(["w1"] * limit)                    # + bos + eos: over the limit
    out = translator.translate(["w1 w2", "", "   ", long_line])
    assert len(out) == 4 and out[1] == "" and out[2] == ""
    assert (translator.stats.empty, translator.stats.truncated) == (2, 1)
    strict = Translator.open(models["ctc"][1], long_lines="error")
    with pytest.raises(UserError, match=f"input line 2: {limit + 2} source tokens"):
        strict.translate(["w1", long_line])


def test_bad_models(models, tmp_path, tiny_teacher, toy_data_bin):
    with pytest.raises(UserError, match="no such file or directory"):
        Translator.open(str(tmp_path / "missing"))
    (tmp_path / "foreign").mkdir()
    with pytest.raises(UserError, match="not a nat-export directory"):
        Translator.open(str(tmp_path / "foreign"))
    (tmp_path / "foreign" / "manifest.json").write_text('{"tool": "nat-prepare"}')
    with pytest.raises(UserError, match="not written by nat-export"):
        Translator.open(str(tmp_path / "foreign"))
    with pytest.raises(UserError, match="not a one-pass NAT"):
        export.export(export.ExportConfig(checkpoint=tiny_teacher, out=str(tmp_path / "t"),
                                          data_bin=toy_data_bin))
    with pytest.raises(UserError, match="torch backend|needs an export directory"):
        Translator.open(models["ctc"][0], backend="onnxruntime")
    with pytest.raises(UserError, match="not empty and not a previous nat-export"):
        export.export(export.ExportConfig(checkpoint=models["ctc"][0],
                                          out=str(tmp_path / "foreign")))


def test_cli_stdin_to_stdout(models, tmp_path):
    """The console scripts as a user runs them: one line in, one line out, errors in one line."""
    bin_dir = os.path.dirname(sys.executable)
    done = subprocess.run([os.path.join(bin_dir, "nat-translate"), "--model", models["glat"][1]],
                          input="w3 w7 w1\n\nw2\n", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split("\n")) == 4 and done.stdout.split("\n")[1] == ""
    assert "3 lines (1 empty, 0 truncated)" in done.stderr
    bad = subprocess.run([os.path.join(bin_dir, "nat-translate"), "--model", str(tmp_path)],
                         input="w1\n", capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_vocabulary_matches_fairseq(toy_data_bin, tmp_path):
    from fairseq.data import Dictionary

    path = os.path.join(toy_data_bin, "dict.src.txt")
    ours, theirs = Vocabulary.load(path), Dictionary.load(path)
    assert ours.symbols == theirs.symbols
    line = "w3 w7  nosuchword w1"
    assert ours.encode(line) == theirs.encode_line(line, add_if_not_exist=False).tolist()
    special = tmp_path / "dict.txt"
    special.write_text("a 5\n<unk> 3 #fairseq:overwrite\nb 2\n")
    assert Vocabulary.load(str(special)).symbols == Dictionary.load(str(special)).symbols
    assert Vocabulary.load(str(special)).index == Dictionary.load(str(special)).indices
    special.write_text("a 5\na 3\n")
    with pytest.raises(UserError, match="duplicate symbol"):
        Vocabulary.load(str(special))


def test_glue_equals_library_decoders():
    """numpy glue against nat.ctc / nat.dag on random inputs of every shape."""
    import torch

    from nat import ctc, dag

    rng = np.random.default_rng(0)
    for _ in range(50):
        bsz, width, vocab = rng.integers(1, 5), rng.integers(1, 9), rng.integers(3, 7)
        lengths = rng.integers(1, width + 1, bsz)
        lengths[0] = width
        frames = rng.integers(0, vocab, (bsz, width))
        blank = vocab - 1
        toks, out_len, _ = ctc.greedy_decode(
            torch.nn.functional.one_hot(torch.from_numpy(frames), vocab).float().log(),
            torch.from_numpy(lengths), blank, pad=-1)
        expected = [t[:n].tolist() for t, n in zip(toks.numpy(), out_len.numpy())]
        assert [x.tolist() for x in search.ctc_collapse(frames, lengths, blank)] == expected
        links = dag.log_links(torch.from_numpy(rng.normal(size=(bsz, width, width))).float(),
                              torch.from_numpy(lengths))
        lprobs = torch.from_numpy(rng.normal(size=(bsz, width, vocab))).float().log_softmax(-1)
        for decoder, successor in ((dag.greedy_decode, links.argmax(-1)),
                                   (dag.lookahead_decode,
                                    (links + lprobs.max(-1).values[:, None, :]).argmax(-1))):
            for dedup in (True, False):
                pad = 1
                ref, _ = decoder(links, lprobs, torch.from_numpy(lengths), pad, dedup=dedup)
                got = search.dag_walk(lprobs.argmax(-1).numpy(), successor.numpy(), lengths,
                                      pad, dedup)
                assert [g.tolist() for g in got] == [[t for t in row if t != pad]
                                                     for row in ref.tolist()]
