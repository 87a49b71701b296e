"""Bad inputs a user tried, one test each: exit status 2, exactly one ``nat-xxx: error: ...`` line
on stderr, and nothing half-written that looks complete.  The commands' ``main(argv)`` run
in-process (fast); the checkpoint cases use the session's ``tiny_teacher`` and ``toy_data_bin``.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from analysis import cli as analyze_cli
from data_scripts import distill_cli, prepare_cli, synth_cli
from nat import fairseq_cli, textio

MAINS = {"nat-synth": synth_cli.main, "nat-prepare": prepare_cli.main,
         "nat-distill": distill_cli.main, "nat-analyze": analyze_cli.main}


def fails(command, argv, capsys):
    """Run ``command``'s main in-process; return its single stderr line (asserting exit 2)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        MAINS[command]([str(a) for a in argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{command}: error: "), err
    assert "Traceback" not in err and "weights_only" not in err
    return lines[0]


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pairs(toy_corpus, tmp_path_factory):
    """Five toy training pairs (source, target files)."""
    d = tmp_path_factory.mktemp("bad_pairs")
    src = textio.read_lines(os.path.join(toy_corpus, "train.src"))[:5]
    tgt = textio.read_lines(os.path.join(toy_corpus, "train.tgt"))[:5]
    textio.write_lines_atomic(str(d / "p.src"), src)
    textio.write_lines_atomic(str(d / "p.tgt"), tgt)
    return str(d / "p.src"), str(d / "p.tgt")


def _nat_checkpoint(data_bin, path):
    """An (untrained) nat_vanilla_tiny checkpoint, built as fairseq-train builds it."""
    import torch
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    import fairseq_plugins  # noqa: F401

    args = options.parse_args_and_arch(options.get_training_parser(), [
        data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--task", "translation_lev",
        "--criterion", "nat_loss", "--noise", "full_mask", "--arch", "nat_vanilla_tiny",
        "--cpu", "--optimizer", "adam", "--lr", "1e-3"])
    cfg = convert_namespace_to_omegaconf(args)
    torch.manual_seed(1)
    model = tasks.setup_task(cfg.task).build_model(cfg.model)
    torch.save({"args": None, "cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
                "model": model.state_dict(), "extra_state": {}, "optimizer_history": [],
                "last_optimizer_state": {}, "task_state": {}, "criterion": None}, path)
    return path


class _Exploit:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.fixture(scope="module")
def bad(tiny_teacher, toy_data_bin, tmp_path_factory):
    """Files that are no usable teacher: ``{kind: path}``, and ``bin`` a data-bin whose
    dictionaries do not match ``tiny_teacher``."""
    import torch

    d = tmp_path_factory.mktemp("bad_checkpoints")
    out = {"random": d / "random.pt", "text": d / "text.pt", "truncated": d / "truncated.pt",
           "directory": d / "directory.pt", "unsafe": d / "unsafe.pt", "nat": d / "nat.pt"}
    out["random"].write_bytes(bytes(random.Random(7).randrange(256) for _ in range(4096)))
    out["text"].write_text("this is a text file\n", encoding="utf-8")
    data = open(tiny_teacher, "rb").read()
    out["truncated"].write_bytes(data[:len(data) // 2])
    out["directory"].mkdir()
    torch.save({"model": {}, "payload": _Exploit()}, str(out["unsafe"]))
    _nat_checkpoint(toy_data_bin, str(out["nat"]))
    paths = {k: str(v) for k, v in out.items()}
    small = d / "small_bin"                       # the toy data-bin with shorter dictionaries
    shutil.copytree(toy_data_bin, small)
    for side in ("src", "tgt"):
        lines = textio.read_lines(str(small / f"dict.{side}.txt"))
        textio.write_lines_atomic(str(small / f"dict.{side}.txt"), lines[:30])
    paths["bin"] = str(small)
    return paths


@pytest.fixture()
def readonly_dir(tmp_path):
    """A directory no file can be created in (chmod 0555; as root, where permissions do not
    stop anyone, a read-only /sys); skipped where neither refuses a write."""
    d = tmp_path / "readonly"
    d.mkdir()
    d.chmod(0o555)
    for candidate in (str(d), "/sys"):
        try:
            probe = os.path.join(candidate, ".probe")
            open(probe, "w").close()
            os.unlink(probe)
        except OSError:
            yield candidate
            break
    else:
        pytest.skip("no directory refuses writes here")
    d.chmod(0o755)


# ---- data loss and sizes: nat-synth ---------------------------------------------------------

SYNTH = ["--train", "20", "--valid", "2", "--test", "2", "--preset", "small", "--quiet"]


def test_synth_refuses_to_overwrite_a_corpus(tmp_path, capsys):
    out = str(tmp_path / "corpus")
    assert synth_cli.main(["--out", out, "--seed", "1"] + SYNTH) == 0
    before = {n: open(os.path.join(out, n), "rb").read() for n in os.listdir(out)}
    line = fails("nat-synth", ["--out", out, "--seed", "2"] + SYNTH, capsys)
    assert line == (f"nat-synth: error: --out {out} already holds a corpus (train.align, "
                    f"train.lang, train.src, ...); pass --overwrite to replace it, or choose "
                    f"another --out")
    assert {n: open(os.path.join(out, n), "rb").read() for n in os.listdir(out)} == before
    assert synth_cli.main(["--out", out, "--seed", "2", "--overwrite"] + SYNTH) == 0
    assert open(os.path.join(out, "train.src"), "rb").read() != before["train.src"]
    assert json.load(open(os.path.join(out, "truth.json")))["seed"] == 2
    assert not [n for n in os.listdir(out) if n.startswith(".")]      # no staging left


@pytest.mark.parametrize("argv, message", [
    (["--train", "0"], "argument --train: must be a positive integer (>= 1), got 0"),
    (["--valid", "-1"], "argument --valid: must be a non-negative integer (>= 0), got -1"),
    (["--train", "x"], "argument --train: expected an integer, got 'x'"),
])
def test_synth_sizes(tmp_path, capsys, argv, message):
    out = tmp_path / "c"
    line = fails("nat-synth", ["--out", out, "--train", "5", "--quiet"] + argv, capsys)
    assert line == f"nat-synth: error: {message}"
    assert not out.exists()


def test_synth_train_zero_through_the_api(tmp_path):
    from nat.errors import UserError
    from nat.synth import generate_corpus

    with pytest.raises(UserError, match="--train must be at least 1, got 0"):
        generate_corpus(str(tmp_path / "c"), sizes=(0, 5, 5), preset="small")
    assert not (tmp_path / "c").exists()


# ---- checkpoints ------------------------------------------------------------------------------

CHECKPOINT_MESSAGES = {
    "random": "{p} is not a PyTorch checkpoint (truncated or corrupt)",
    "text": "{p} is not a PyTorch checkpoint (a text file)",
    "truncated": "{p} is not a PyTorch checkpoint (truncated or corrupt zip archive)",
    "directory": "{p}: is a directory, not a checkpoint file",
    "unsafe": "refusing to load checkpoint {p}: it needs the global posix.system, which is not "
              "on the fairseq allowlist (only load checkpoints you trust)",
}
DISTILL_FAST = ["--beam", "2", "--max-len-b", "8", "--threads", "1", "--quiet", "--no-binarize"]


def _distill(bad_or_teacher, data_bin, pairs, out, *extra):
    return ["--path", bad_or_teacher, "--data-bin", data_bin, "--source", pairs[0],
            "--target", pairs[1], "--out", out, *DISTILL_FAST, *extra]


@pytest.mark.parametrize("kind", sorted(CHECKPOINT_MESSAGES))
def test_distill_bad_checkpoint(kind, bad, toy_data_bin, pairs, tmp_path, capsys):
    out = tmp_path / "out"
    line = fails("nat-distill", _distill(bad[kind], toy_data_bin, pairs, out), capsys)
    flag = "--path " if kind == "directory" else "--path: "
    assert line == "nat-distill: error: " + flag + CHECKPOINT_MESSAGES[kind].format(p=bad[kind])
    assert not out.exists()


@pytest.mark.parametrize("backend", ["fairseq", "ctranslate2"])
def test_distill_nat_checkpoint_as_teacher(backend, bad, toy_data_bin, pairs, tmp_path, capsys):
    out = tmp_path / "out"
    line = fails("nat-distill", _distill(bad["nat"], toy_data_bin, pairs, out, "--backend",
                                         backend, "--ct2-cache", tmp_path / "ct2"), capsys)
    assert line == (f"nat-distill: error: --path {bad['nat']}: nat_vanilla_tiny is a "
                    f"non-autoregressive model; the teacher must be an autoregressive one (e.g. "
                    f"transformer_teacher_tiny)")
    assert not out.exists()


def test_ctranslate2_keeps_its_reasons():
    from nat.distill.backend_ct2 import conversion_failure

    err = ValueError("The model you are trying to convert is not supported by CTranslate2. We "
                     "identified the following reasons:\n\n- Option --arch x is not supported"
                     "\n- Option --foo is not supported")
    assert conversion_failure(err) == ("not supported by CTranslate2: Option --arch x is not "
                                       "supported; Option --foo is not supported")


def test_distill_dictionaries_do_not_match(bad, tiny_teacher, pairs, tmp_path, capsys):
    out = tmp_path / "out"
    line = fails("nat-distill", _distill(tiny_teacher, bad["bin"], pairs, out), capsys)
    assert line == (f"nat-distill: error: --data-bin {bad['bin']} does not match --path "
                    f"{tiny_teacher}: dict.src.txt has 34 symbols, the checkpoint's source "
                    f"embeddings 56; dict.tgt.txt has 34 symbols, the checkpoint's target "
                    f"embeddings 56 (use the data-bin the model was trained on)")
    assert not out.exists()


def test_state_dict_mismatch_keeps_the_sizes():
    from nat.distill.teacher import load_failure

    err = RuntimeError("Error(s) in loading state_dict for TransformerModel:\n\tsize mismatch "
                       "for encoder.embed_tokens.weight: copying a param with shape "
                       "torch.Size([56, 128]) from checkpoint, the shape in current model is "
                       "torch.Size([34, 128]).")
    assert load_failure(err) == ("RuntimeError: Error(s) in loading state_dict for "
                                 "TransformerModel encoder.embed_tokens.weight is [56, 128] in "
                                 "the checkpoint but [34, 128] for these dictionaries")


def _analyze(pairs, out, nat, at, data_bin, *extra):
    return ["corpus", "--source", pairs[0], "--target", pairs[1], "--aligner", "ibm1",
            "--nat-checkpoint", nat, "--at-checkpoint", at, "--data-bin", data_bin, "--quiet",
            "--out", out, *extra]


@pytest.mark.parametrize("role", ["--nat-checkpoint", "--at-checkpoint"])
@pytest.mark.parametrize("kind", ["random", "text", "truncated", "directory", "unsafe"])
def test_analyze_bad_checkpoint(role, kind, bad, tiny_teacher, toy_data_bin, pairs, tmp_path,
                                capsys):
    out = tmp_path / "out"
    nat, at = (bad[kind], tiny_teacher) if role == "--nat-checkpoint" else (bad["nat"], bad[kind])
    line = fails("nat-analyze", _analyze(pairs, out, nat, at, toy_data_bin), capsys)
    flag = f"{role} " if kind == "directory" else f"{role}: "
    assert line == "nat-analyze: error: " + flag + CHECKPOINT_MESSAGES[kind].format(p=bad[kind])
    assert not out.exists()


def test_analyze_dictionaries_do_not_match(bad, tiny_teacher, pairs, tmp_path, capsys):
    out = tmp_path / "out"
    line = fails("nat-analyze", _analyze(pairs, out, bad["nat"], tiny_teacher, bad["bin"]),
                 capsys)
    assert line.startswith(f"nat-analyze: error: --data-bin {bad['bin']} does not match "
                           f"--at-checkpoint {tiny_teacher}: dict.src.txt has 34 symbols, the "
                           f"checkpoint's source embeddings 56")
    assert not out.exists()


# ---- paths ------------------------------------------------------------------------------------

@pytest.fixture()
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a directory\n")
    return str(path)


def _path_case(command, toy_corpus, pairs, tiny_teacher, toy_data_bin, out=None, source=None,
               raw=None):
    out = out or "UNUSED"
    if command == "nat-synth":
        return ["--out", out, "--train", "3", "--valid", "1", "--test", "1", "--preset", "small",
                "--quiet"]
    if command == "nat-prepare":
        return ["--raw", raw or toy_corpus, "--out", out, "--no-binarize", "--quiet"]
    if command == "nat-distill":
        return ["--path", tiny_teacher, "--data-bin", toy_data_bin, "--source",
                source or pairs[0], "--target", pairs[1], "--out", out, *DISTILL_FAST]
    return ["corpus", "--source", source or pairs[0], "--target", pairs[1], "--aligner", "ibm1",
            "--quiet", "--out", out]


@pytest.mark.parametrize("command", ["nat-synth", "nat-prepare", "nat-distill", "nat-analyze"])
def test_out_is_a_file(command, a_file, toy_corpus, pairs, tiny_teacher, toy_data_bin, capsys):
    before = open(a_file).read()
    line = fails(command, _path_case(command, toy_corpus, pairs, tiny_teacher, toy_data_bin,
                                     out=a_file), capsys)
    assert line == f"{command}: error: --out {a_file}: exists and is not a directory"
    assert open(a_file).read() == before


@pytest.mark.parametrize("inside", [False, True])
@pytest.mark.parametrize("command", ["nat-synth", "nat-prepare", "nat-distill", "nat-analyze"])
def test_out_is_read_only(command, inside, readonly_dir, toy_corpus, pairs, tiny_teacher,
                          toy_data_bin, capsys):
    out = os.path.join(readonly_dir, "new") if inside else readonly_dir
    line = fails(command, _path_case(command, toy_corpus, pairs, tiny_teacher, toy_data_bin,
                                     out=out), capsys)
    if inside:
        assert line.startswith(f"{command}: error: --out {out}: cannot create it in "
                               f"{readonly_dir} (")
    elif command == "nat-prepare" and readonly_dir == "/sys":
        assert line.startswith(f"{command}: error: --out {out}: ")
    else:
        assert line.startswith(f"{command}: error: --out {out}: cannot write into this "
                               f"directory (")
    assert not os.path.exists(os.path.join(readonly_dir, "new"))


@pytest.mark.parametrize("command", ["nat-distill", "nat-analyze"])
def test_source_is_a_directory(command, tmp_path, toy_corpus, pairs, tiny_teacher, toy_data_bin,
                               capsys):
    out = tmp_path / "out"
    line = fails(command, _path_case(command, toy_corpus, pairs, tiny_teacher, toy_data_bin,
                                     out=str(out), source=toy_corpus), capsys)
    assert line == f"{command}: error: --source {toy_corpus}: is a directory, expected a file"
    assert not out.exists()


def test_prepare_raw_is_a_file(a_file, tmp_path, capsys):
    out = tmp_path / "out"
    line = fails("nat-prepare", ["--raw", a_file, "--out", out, "--quiet"], capsys)
    assert line == f"nat-prepare: error: --raw {a_file}: is a file, expected a directory"
    assert not out.exists()


def test_analyze_lexicon_out_is_a_directory(tmp_path, pairs, capsys):
    labels = tmp_path / "labels"
    labels.write_text("a\n" * 5)
    line = fails("nat-analyze", ["lexicon", "--target", pairs[1], "--labels", labels,
                                 "--out", tmp_path], capsys)
    assert line == f"nat-analyze: error: --out {tmp_path}: is a directory, expected a file path"


# ---- range checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("command, argv, message", [
    ("nat-distill", ["--threads", "0"], "argument --threads: must be a positive integer (>= 1), "
                                        "got 0"),
    ("nat-distill", ["--max-len-b", "0"], "argument --max-len-b: must be a positive integer "
                                          "(>= 1), got 0"),
    ("nat-distill", ["--max-len-a", "-1"], "argument --max-len-a: must be a non-negative number "
                                           "(>= 0), got -1"),
    ("nat-distill", ["--beam", "0"], "argument --beam: must be a positive integer (>= 1), got 0"),
    ("nat-analyze", ["--min-count", "-1"], "argument --min-count: must be a positive integer "
                                           "(>= 1), got -1"),
    ("nat-analyze", ["--ibm1-iterations", "0"], "argument --ibm1-iterations: must be a positive "
                                                "integer (>= 1), got 0"),
    ("nat-analyze", ["--nll-batch-size", "0"], "argument --nll-batch-size: must be a positive "
                                               "integer (>= 1), got 0"),
    ("nat-prepare", ["--workers", "0"], "argument --workers: must be a positive integer (>= 1), "
                                        "got 0"),
    ("nat-prepare", ["--max-pieces", "-1"], "argument --max-pieces: must be a non-negative "
                                            "integer (>= 0), got -1"),
])
def test_out_of_range(command, argv, message, tmp_path, toy_corpus, pairs, tiny_teacher,
                      toy_data_bin, capsys):
    out = tmp_path / "out"
    base = _path_case(command, toy_corpus, pairs, tiny_teacher, toy_data_bin, out=str(out))
    line = fails(command, base + argv, capsys)
    assert line == f"{command}: error: {message}"
    assert not out.exists()


def test_analyze_lexicon_min_count(tmp_path, pairs, capsys):
    labels = tmp_path / "labels"
    labels.write_text("a\n" * 5)
    out = tmp_path / "lex.json"
    line = fails("nat-analyze", ["lexicon", "--target", pairs[1], "--labels", labels,
                                 "--min-count", "-1", "--out", out], capsys)
    assert line == "nat-analyze: error: argument --min-count: must be a positive integer " \
                   "(>= 1), got -1"
    assert not out.exists()


def test_api_refuses_zero_iterations(pairs):
    from analysis import api
    from nat.errors import UserError

    src, tgt = textio.read_lines(pairs[0]), textio.read_lines(pairs[1])
    with pytest.raises(UserError, match=r"ibm1_iterations \(0\) must be >= 1"):
        api.analyze_corpus(src, tgt, aligner="ibm1", ibm1_iterations=0)


def test_distill_config_refuses_zero_threads_and_length(pairs):
    from nat.distill import DistillConfig
    from nat.errors import UserError

    base = dict(paths=["t.pt"], data_bin="b", source=pairs[0], target=pairs[1], out="o")
    with pytest.raises(UserError, match="--threads 0: must be >= 1"):
        DistillConfig(**base, threads=0)
    with pytest.raises(UserError, match="--max-len-b 0: must be >= 1"):
        DistillConfig(**base, max_len_b=0)


# ---- a 100k-character token -------------------------------------------------------------------

HUGE = "x" * 100_000


def test_prepare_counts_a_huge_token(toy_corpus, tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(toy_corpus, raw)
    lines = textio.read_lines(str(raw / "train.src"))
    lines[3] = HUGE
    textio.write_lines_atomic(str(raw / "train.src"), lines)
    out = tmp_path / "out"
    assert prepare_cli.main([str(a) for a in ["--raw", raw, "--out", out, "--no-binarize",
                                              "--vocab-size", "60", "--quiet"]]) == 0
    cov = json.load(open(out / "manifest.json"))["coverage"]["train"]["src"]
    assert cov["long_words"] == 1 and cov["longest_word_chars"] == 100_000
    assert cov["first_long_word_line"] == 4 and cov["unk_characters"] == 100_000
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert summary["splits"]["train"]["long_words"] == {"src": 1, "tgt": 0}


def test_distill_counts_a_huge_token(tiny_teacher, toy_data_bin, pairs, tmp_path):
    src = tmp_path / "huge.src"
    lines = textio.read_lines(pairs[0])
    lines[2] = HUGE
    textio.write_lines_atomic(str(src), lines)
    out = tmp_path / "out"
    argv = _distill(tiny_teacher, toy_data_bin, (str(src), pairs[1]), out)
    assert distill_cli.main([str(a) for a in argv]) == 0
    counts = json.load(open(out / "manifest.json"))["counts"]
    assert counts["unknown_source_tokens"] == 1 and counts["sources_with_unknown_tokens"] == 1
    assert counts["first_source_line_with_unknown_token"] == 3
    assert counts["longest_unknown_source_token_chars"] == 100_000


# ---- after a kill -----------------------------------------------------------------------------

CHILD = """
import os, sys, time
from nat.fairseq_cli import run_command
run_command(sys.executable, ["-c", "import os, time; open(%r, 'w').write(str(os.getpid())); "
                                "time.sleep(60)"])
"""


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl: Linux")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_run_tool_child_dies_with_its_parent(sig, tmp_path):
    """The parent of a fairseq tool killed (SIGKILL: no finally runs) or interrupted (SIGINT to
    the parent alone): the tool does not keep running."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", CHILD % str(pid_file)],
                              stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert _state(child) not in ("gone", "Z")
    os.kill(parent.pid, sig)
    parent.wait(timeout=90)  # generous: a loaded 2-core machine once took over 20 s here
    deadline = time.time() + 30
    while _state(child) not in ("gone", "Z") and time.time() < deadline:
        time.sleep(0.05)
    assert _state(child) in ("gone", "Z")


def test_distill_publishes_outputs_last(tiny_teacher, toy_data_bin, pairs, tmp_path, capsys,
                                        monkeypatch):
    """Killed while binarizing (after the text is written): OUT holds the resumable store but
    no train.{src,tgt,ids} without a manifest; the re-run publishes everything."""
    from nat.distill import pipeline

    out = tmp_path / "out"
    argv = [a for a in _distill(tiny_teacher, toy_data_bin, pairs, out) if a != "--no-binarize"]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.binarize_mod, "binarize", killed)
    with pytest.raises(SystemExit) as exit_info:
        distill_cli.main([str(a) for a in argv])
    assert exit_info.value.code == 130
    assert sorted(os.listdir(out)) == ["store"]
    monkeypatch.undo()
    assert distill_cli.main([str(a) for a in argv]) == 0
    names = set(os.listdir(out))
    assert {"manifest.json", "train.src", "train.tgt", "train.ids", "bin"} <= names
    assert not [n for n in names if n.startswith(".")]


def _dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_prepare_builds_aside_with_the_users_umask(toy_corpus, tmp_path, monkeypatch):
    """A failed (or killed) build leaves no OUT; a killed run's build directory is removed by
    the next run; the prepared directory gets the umask's mode, not mkdtemp's 0700."""
    from nat.prepare import pipeline

    out = tmp_path / "out"
    argv = ["--raw", toy_corpus, "--out", out, "--no-binarize", "--vocab-size", "60", "--quiet"]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_dictionaries", killed)
    with pytest.raises(SystemExit):
        prepare_cli.main([str(a) for a in argv])
    assert sorted(os.listdir(tmp_path)) == []
    monkeypatch.undo()
    stale = tmp_path / f".out.tmp-{_dead_pid()}-abc"
    (stale / "text").mkdir(parents=True)
    (stale / "text" / "train.src").write_text("half\n")
    old = os.umask(0o027)
    try:
        assert prepare_cli.main([str(a) for a in argv]) == 0
    finally:
        os.umask(old)
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert os.stat(out).st_mode & 0o777 == 0o750
