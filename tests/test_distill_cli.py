"""The nat-distill command: end-to-end output ready for fairseq-train, one-line errors, and
resume after SIGKILL at random points (byte-identical to an uninterrupted run)."""
import json
import os
import random
import signal
import subprocess
import time

import pytest

from distill_helpers import FAST, make_inputs, read
from nat import textio
from nat.cli import bin_path
from nat.distill import DistillConfig, run
from nat.hashing import file_sha256

CLI_FAST = ["--beam", "4", "--max-len-a", "1", "--max-len-b", "4", "--threads", "1",
            "--max-source-positions", "16", "--quiet"]


def cli(args, **kwargs):
    return subprocess.Popen([bin_path("nat-distill")] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture(scope="module")
def inputs(toy_corpus, tmp_path_factory):
    return make_inputs(toy_corpus, str(tmp_path_factory.mktemp("distill_cli_in")), count=120)


def test_count_mismatch_is_a_one_line_error(tiny_teacher, toy_data_bin, inputs, tmp_path):
    short = tmp_path / "short.tgt"
    short.write_text("A\n", encoding="utf-8")
    proc = cli(["--path", tiny_teacher, "--data-bin", toy_data_bin, "--source", inputs[0],
                "--target", short, "--out", tmp_path / "out"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        f"nat-distill: error: line counts differ: {inputs[0]} has 122, {short} has 1"]


@pytest.fixture(scope="module")
def killed_and_resumed(tiny_teacher, toy_data_bin, inputs, tmp_path_factory):
    """An uninterrupted API run, and the real command killed (SIGKILL) at random moments and
    re-run to completion.  Returns ``(ref_dir, out_dir, seed, kills)``."""
    tmp_path = tmp_path_factory.mktemp("distill_kill")
    ref = tmp_path / "ref"
    run(DistillConfig(paths=[tiny_teacher], data_bin=toy_data_bin, source=inputs[0],
                      target=inputs[1], out=str(ref), **{**FAST, "chunk_size": 10,
                                                         "binarize": True}))
    out = tmp_path / "killed"
    args = ["--path", tiny_teacher, "--data-bin", toy_data_bin, "--source", inputs[0],
            "--target", inputs[1], "--out", out, "--chunk-size", 10, "--method", "seqkd"]
    seed = int(os.environ.get("NAT_TEST_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    chunks_dir, kills = None, []
    for _ in range(2):
        want = rng.randint(1, 13)  # chunks to wait for (13 in all: 13 = kill while merging)
        proc = cli(args + CLI_FAST)
        while proc.poll() is None:
            stores = os.path.join(str(out), "store")
            if os.path.isdir(stores) and os.listdir(stores):
                chunks_dir = os.path.join(stores, os.listdir(stores)[0], "chunks")
            done = len(os.listdir(chunks_dir)) if chunks_dir and os.path.isdir(chunks_dir) else 0
            if done >= want:
                time.sleep(rng.uniform(0, 0.2))
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.communicate(timeout=60)
        kills.append((want, proc.returncode))
        for name in os.listdir(chunks_dir) if chunks_dir and os.path.isdir(chunks_dir) else []:
            if not name.startswith(".tmp-"):  # whole chunk files only, never half ones
                [json.loads(l) for l in textio.read_lines(os.path.join(chunks_dir, name))]
    assert any(code == -signal.SIGKILL for _, code in kills), (seed, kills)
    proc = cli(args + CLI_FAST)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return ref, out, seed, kills


def test_sigkill_at_random_points_then_resume_is_byte_identical(killed_and_resumed):
    ref, out, seed, kills = killed_and_resumed
    for name in ("train.src", "train.tgt", "train.ids"):
        assert read(str(out / name)) == read(str(ref / name)), (seed, kills, name)
    ref_bin = sorted(f for f in os.listdir(str(ref / "bin")) if f.endswith((".bin", ".idx")))
    assert ref_bin == sorted(f for f in os.listdir(str(out / "bin"))
                             if f.endswith((".bin", ".idx")))
    for name in ref_bin:
        assert read(str(out / "bin" / name)) == read(str(ref / "bin" / name)), (seed, name)
    assert not [n for n in os.listdir(str(out)) if n.startswith((".tmp-", ".bin-tmp"))]


def test_binarized_output_is_ready_for_fairseq_train(killed_and_resumed, tiny_teacher,
                                                     toy_data_bin):
    """bin/ holds the text binarized with the teacher's dictionaries, plus its valid split."""
    _, out, _, _ = killed_and_resumed
    manifest = json.loads(read(str(out / "manifest.json")))
    assert manifest["teachers"][0]["sha256"] == file_sha256(tiny_teacher)
    assert manifest["decoding"]["beam"] == 4 and manifest["selection"]["method"] == "seqkd"
    assert manifest["counts"]["outputs"] == manifest["counts"]["sources"] == 122
    assert manifest["packages"]["torch"] and manifest["timing"]["sentences_per_s"] > 0
    assert manifest["other_splits"]["valid"].startswith("copied from")
    from fairseq.data import Dictionary, data_utils

    for lang in ("src", "tgt"):
        dictionary = Dictionary.load(os.path.join(str(out / "bin"), f"dict.{lang}.txt"))
        assert read(os.path.join(str(out / "bin"), f"dict.{lang}.txt")) == \
            read(os.path.join(toy_data_bin, f"dict.{lang}.txt"))
        data = data_utils.load_indexed_dataset(
            os.path.join(str(out / "bin"), f"train.src-tgt.{lang}"), dictionary)
        lines = textio.read_lines(str(out / f"train.{lang}"))
        assert len(data) == len(lines) == 122
        for i in (0, 10, 11, 121):
            assert dictionary.string(data[i]) == " ".join(
                w if w in dictionary.indices else dictionary.unk_word for w in lines[i].split())
        assert os.path.exists(os.path.join(str(out / "bin"), f"valid.src-tgt.{lang}.idx"))
