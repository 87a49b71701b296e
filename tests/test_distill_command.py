"""nat-distill with a black-box teacher (``--backend command``, or a Python callable): every
line answered in order, and a command that reorders, drops, adds, hangs or fails is one line
naming the source lines of its call, never a shorter corpus.  No trained model: the teachers
are Python one-liners run by the real shell."""
import json
import os
import random
import shlex
import subprocess
import sys
import time

import pytest

from distill_helpers import read
from nat import textio
from nat.cli import bin_path
from nat.distill import DistillConfig, run
from nat.distill.command_echo import merge_copies, plan_call
from nat.errors import UserError
from nat.hashing import file_sha256

LINES = 47          # 3 chunks of 20 (the last one short), one call each unless told


def py(code):
    """A teacher command: ``code`` run by this interpreter (``-S``: no site, a faster start)."""
    return f"{shlex.quote(sys.executable)} -S -c {shlex.quote(code)}"


CAT = py("import sys; sys.stdout.write(sys.stdin.read())")
UPPER = py("import sys\nfor line in sys.stdin: sys.stdout.write(line.upper())")
REORDERS = {
    "shuffle": "import random, sys; l = sys.stdin.readlines(); random.Random(0).shuffle(l); "
               "sys.stdout.writelines(l)",
    "reverse": "import sys; sys.stdout.writelines(sys.stdin.readlines()[::-1])",
    "length-sorted": "import sys; sys.stdout.writelines(sorted(sys.stdin, key=len))",
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Distinct source lines (one empty) and a gold target (upper case, every third line
    replaced by a line far from it)."""
    base = tmp_path_factory.mktemp("black_box_in")
    sources = [f"w{i} x{i % 7} y{i * 3 % 11}" for i in range(LINES)]
    sources[5] = ""
    targets = [s.upper() if i % 3 else "zz zz zz zz zz" for i, s in enumerate(sources)]
    paths = str(base / "in.src"), str(base / "in.tgt")
    textio.write_lines_atomic(paths[0], sources)
    textio.write_lines_atomic(paths[1], targets)
    return paths, sources, targets


def config(inputs, out, **extra):
    settings = dict(backend="command", source=inputs[0][0], target=inputs[0][1], out=str(out),
                    chunk_size=20, teacher_batch=20, binarize=False, progress=False)
    return DistillConfig(**{**settings, **extra})


def store_records(out, manifest):
    root = os.path.join(str(out), manifest["store"], "chunks")
    return [json.loads(line) for name in sorted(os.listdir(root))
            for line in textio.read_lines(os.path.join(root, name))[1:]]


def test_identity_command_answers_every_line_in_order(inputs, tmp_path):
    manifest = run(config(inputs, tmp_path, teacher_cmd=CAT, teacher_batch=8))
    sources = inputs[1]
    assert textio.read_lines(str(tmp_path / "train.src")) == sources
    assert textio.read_lines(str(tmp_path / "train.tgt")) == sources
    assert textio.read_lines(str(tmp_path / "train.ids")) == [str(i) for i in range(LINES)]
    teacher = manifest["teachers"] == [manifest["decoding"]["teacher"]] and \
        manifest["decoding"]["teacher"]
    assert teacher["command"] == CAT
    assert teacher["executable_sha256"] == file_sha256(os.path.realpath(sys.executable))
    assert manifest["decoding"]["backend"] == "command" and manifest["ensemble"] is None
    assert manifest["counts"]["outputs"] == manifest["counts"]["decoded"] == LINES
    assert manifest["fallbacks"] == {}       # the empty answer to the empty source is no loss
    calls = 3 + 3 + 1                        # chunks of 20, 20, 7 lines in calls of 8
    assert manifest["this_run"]["calls"] == calls
    assert manifest["this_run"]["echo_probes_sent"] == 4 * calls
    records = store_records(tmp_path, manifest)
    assert [r["hyps"] for r in records] == [[[s, None]] for s in sources]  # no scores


@pytest.mark.parametrize("how", sorted(REORDERS))
def test_a_command_that_reorders_lines_is_detected(inputs, tmp_path, how):
    with pytest.raises(UserError) as err:
        run(config(inputs, tmp_path, teacher_cmd=py(REORDERS[how])))
    message = str(err.value)
    assert message.startswith(f"--teacher-cmd: lines 1-20 of {inputs[0][0]}: echo check "
                              f"failed")
    assert "\n" not in message
    assert not (tmp_path / "train.tgt").exists() and not (tmp_path / "manifest.json").exists()


def test_without_echo_probes_a_shuffle_goes_through(inputs, tmp_path):
    """What the check is for: the count alone cannot see a shuffle."""
    run(config(inputs, tmp_path, target=None, teacher_cmd=py(REORDERS["shuffle"]),
               echo_probes=0))
    answers = textio.read_lines(str(tmp_path / "train.tgt"))
    assert sorted(answers) == sorted(inputs[1]) and answers != inputs[1]


@pytest.mark.parametrize("code, got", [
    ("import sys; sys.stdout.writelines(sys.stdin.readlines()[:-1])", 23),    # drops one
    ("import sys; l = sys.stdin.readlines(); sys.stdout.writelines(l + l[:1])", 25),  # adds one
    ("pass", 0)])                                                           # answers nothing
def test_a_wrong_count_names_the_call(inputs, tmp_path, code, got):
    with pytest.raises(UserError, match=rf"^--teacher-cmd: lines 1-20 of {inputs[0][0]}: sent "
                                        rf"24 lines \(20 \+ 4 echo probes\), got {got} answer "
                                        rf"lines back$"):
        run(config(inputs, tmp_path, teacher_cmd=py(code)))
    assert not (tmp_path / "train.tgt").exists()


def test_a_hanging_command_is_killed_at_the_timeout(inputs, tmp_path):
    pid_file = tmp_path / "pid"
    hang = py(f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
              f"time.sleep(60)") + "; true"     # '; true': the shell stays its parent
    started = time.monotonic()
    with pytest.raises(UserError, match=rf"^--teacher-cmd: lines 1-20 of {inputs[0][0]}: no "
                                        rf"answer within --teacher-timeout 1 s \(killed\)$"):
        run(config(inputs, tmp_path / "out", teacher_cmd=hang, teacher_timeout=1))
    assert time.monotonic() - started < 20
    if pid_file.exists():                            # (not yet, on a very loaded machine)
        assert dies(int(pid_file.read_text()))       # the shell's child dies with it


def dies(pid, within=10.0):
    """The process is gone within ``within`` seconds: SIGKILL is delivered when the target is
    next scheduled, so on a loaded machine it may still run for a moment after ``killpg``."""
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def alive(pid):
    """A running process (a zombie waiting for init to reap it counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_failing_command_reports_its_exit_status_and_stderr(inputs, tmp_path):
    fail = py("import sys; sys.stderr.write('loading\\nmodel not found\\n'); sys.exit(3)")
    with pytest.raises(UserError, match=rf"^--teacher-cmd: lines 1-20 of {inputs[0][0]}: exit "
                                        rf"status 3 \(model not found\)$"):
        run(config(inputs, tmp_path, teacher_cmd=fail))


def test_one_line_error_from_the_real_command(inputs, tmp_path):
    proc = subprocess.run([bin_path("nat-distill"), "--backend", "command", "--teacher-cmd",
                           py("import sys; sys.exit(7)"), "--source", inputs[0][0],
                           "--out", str(tmp_path), "--no-binarize", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"nat-distill: error: --teacher-cmd: lines 1-{LINES} of {inputs[0][0]}: exit status 7"]


def test_python_callable_teacher(inputs, tmp_path):
    def shout(lines):
        return [line.upper() for line in lines]

    manifest = run(config(inputs, tmp_path), teacher_fn=shout)
    assert textio.read_lines(str(tmp_path / "train.tgt")) == [s.upper() for s in inputs[1]]
    assert manifest["teachers"][0]["callable"].endswith("shout")
    assert manifest["teachers"][0]["source_sha256"]
    assert "timeout_s" not in manifest["this_run"]
    with pytest.raises(UserError, match=r"^teacher_fn: lines 1-20 of .*got 23 answer lines"):
        run(config(inputs, tmp_path / "short"), teacher_fn=lambda lines: lines[1:])
    with pytest.raises(UserError, match=r"^teacher_fn: lines 1-20 of .*: answer to line \d+ holds "
                                        r"a line break$"):
        run(config(inputs, tmp_path / "nl"), teacher_fn=lambda lines: [x + "\n" for x in lines])
    with pytest.raises(UserError, match="returned str, expected a list of strings"):
        run(config(inputs, tmp_path / "str"), teacher_fn=lambda lines: "\n".join(lines))


def test_monolingual_source_text(inputs, tmp_path):
    manifest = run(config(inputs, tmp_path, target=None, teacher_cmd=UPPER))
    assert textio.read_lines(str(tmp_path / "train.src")) == inputs[1]
    assert textio.read_lines(str(tmp_path / "train.tgt")) == [s.upper() for s in inputs[1]]
    assert manifest["inputs"]["monolingual"] and manifest["inputs"]["target"] is None
    with pytest.raises(UserError, match=r"--method selective scores against the gold "
                                        r"target: give --target"):
        config(inputs, tmp_path, target=None, teacher_cmd=UPPER, method="selective")
    with pytest.raises(UserError, match=r"--method seqinter scores against the gold target"):
        config(inputs, tmp_path, target=None, backend="fairseq", paths=["t.pt"],
               data_bin="bin", method="seqinter")


def test_selective_keeps_the_gold_target_where_the_answer_is_far(inputs, tmp_path):
    manifest = run(config(inputs, tmp_path, teacher_cmd=UPPER, method="selective"))
    sources, targets = inputs[1], inputs[2]
    expected = [s.upper() if i % 3 else targets[i] for i, s in enumerate(sources)]
    assert textio.read_lines(str(tmp_path / "train.tgt")) == expected
    assert manifest["fallbacks"] == {"selective_raw": len(range(0, LINES, 3))}


@pytest.mark.parametrize("settings, message", [
    (dict(method="nbest"), "--method nbest needs the teacher's K-best list"),
    (dict(method="sample"), "--method sample needs"),
    (dict(method="seqinter"), "--method seqinter needs"),
    (dict(paths=["a.pt", "b.pt"]), "--backend command cannot decode an ensemble"),
    (dict(paths=["a.pt"]), "--backend command cannot decode checkpoints"),
    (dict(binarize=True), "binarizing needs --data-bin DIR"),
    (dict(backend="fairseq", paths=["a.pt"], data_bin="b"), "add --backend command"),
])
def test_what_a_black_box_cannot_do_is_refused(inputs, tmp_path, settings, message):
    with pytest.raises(UserError, match=message):
        config(inputs, tmp_path, **{"teacher_cmd": CAT, **settings})


def test_a_teacher_is_required_exactly_once(inputs, tmp_path):
    with pytest.raises(UserError, match="needs --teacher-cmd"):
        run(config(inputs, tmp_path))
    with pytest.raises(UserError, match="exactly one of them"):
        run(config(inputs, tmp_path, teacher_cmd=CAT), teacher_fn=lambda lines: lines)
    assert not (tmp_path / "store").exists()


def test_resume_after_an_interruption_is_byte_identical(inputs, tmp_path):
    flag = tmp_path / "fail-now"
    flag.write_text("")
    flaky = py(f"import os, sys; l = sys.stdin.readlines(); "
               f"os.path.exists({str(flag)!r}) and any(x.startswith('w25 ') for x in l) and "
               f"sys.exit(5); sys.stdout.writelines(x.upper() for x in l)")
    with pytest.raises(UserError, match=rf"^--teacher-cmd: lines 21-40 of {inputs[0][0]}: "
                                        rf"exit status 5$"):   # chunk 1
        run(config(inputs, tmp_path / "out", teacher_cmd=flaky))
    chunks = tmp_path / "out" / "store"
    assert len(list(chunks.glob("*/chunks/chunk-*.jsonl"))) == 1   # chunk 0 kept, whole
    flag.unlink()
    resumed = run(config(inputs, tmp_path / "out", teacher_cmd=flaky))
    assert resumed["this_run"]["decoded_chunks_now"] == 2
    fresh = run(config(inputs, tmp_path / "fresh", teacher_cmd=flaky))
    assert fresh["store_key"] == resumed["store_key"]
    for name in ("train.src", "train.tgt", "train.ids"):
        assert read(str(tmp_path / "out" / name)) == read(str(tmp_path / "fresh" / name))
    other = run(config(inputs, tmp_path / "out", teacher_cmd=flaky + " # v2"))
    assert other["store_key"] != resumed["store_key"]      # the command string is in the key


def test_binarized_with_the_given_dictionaries(toy_corpus, toy_data_bin, tmp_path):
    """The toy corpus and its data-bin's dictionaries: bin/ is ready for fairseq-train, and
    answer tokens the dictionary lacks are counted."""
    sources = textio.read_lines(os.path.join(toy_corpus, "train.src"))[:40]
    src = str(tmp_path / "in.src")
    textio.write_lines_atomic(src, sources)
    marks = py("import sys\nfor l in sys.stdin: w = l.split(); print(' '.join(w + ['QQ'] * "
               "(len(w) % 2)))")       # QQ: a token the dictionary lacks, on odd lengths
    manifest = run(DistillConfig(backend="command", teacher_cmd=marks, data_bin=toy_data_bin,
                                 source=src, out=str(tmp_path / "out"), progress=False))
    out = tmp_path / "out"
    odd = [len(s.split()) % 2 for s in sources]
    assert textio.read_lines(str(out / "train.tgt")) == \
        [" ".join(s.split() + ["QQ"] * o) for s, o in zip(sources, odd)]
    assert manifest["counts"]["unknown_target_tokens"] == sum(odd) > 0
    assert manifest["counts"]["first_target_line_with_unknown_token"] == odd.index(1) + 1
    assert manifest["languages"] == {"source": "src", "target": "tgt"}
    for lang in ("src", "tgt"):
        assert read(str(out / "bin" / f"dict.{lang}.txt")) == \
            read(os.path.join(toy_data_bin, f"dict.{lang}.txt"))
        assert (out / "bin" / f"train.src-tgt.{lang}.idx").exists()
        assert (out / "bin" / f"valid.src-tgt.{lang}.idx").exists()


# ---- the echo check itself ---------------------------------------------------------------

def test_plan_sends_every_line_once_and_the_probes_twice():
    for count in (1, 2, 5, 40):
        order = plan_call(count, 4, seed="s")
        assert sorted(set(order)) == list(range(count))
        assert len(order) == count + min(4, count)
        assert [i for i in order if order.count(i) == 1] == \
            [i for i in range(count) if order.count(i) == 1]    # the rest keeps its order
        assert order == plan_call(count, 4, seed="s")
    assert plan_call(40, 4, seed="a") != plan_call(40, 4, seed="b")


def test_echo_check_against_every_permutation_of_a_small_call():
    """Brute force over all reorderings of one call (6 lines, 2 probes): the check passes the
    identity and any reordering that keeps every line's answers together, and fails every
    other one.  Distinct answers, so 'together' means 'the same line'."""
    from itertools import permutations

    order = plan_call(6, 2, seed=3)
    answers = [f"A{i}" for i in order]
    escaped = changed = 0
    for perm in permutations(range(len(order))):
        got = [answers[p] for p in perm]
        merged, bad = merge_copies(order, got)
        consistent = all(len({got[k] for k, i in enumerate(order) if i == j}) == 1
                         for j in range(6))
        assert (bad is None) == consistent
        if merged is not None and merged != [f"A{i}" for i in range(6)]:
            escaped += 1
        changed += merged != [f"A{i}" for i in range(6)]
    # the documented limit: a reordering of lines that are not probes escapes the check
    assert 0 < escaped < changed
    identity = merge_copies(order, answers)
    assert identity == ([f"A{i}" for i in range(6)], None)


def test_echo_check_never_fails_an_ordered_deterministic_teacher():
    rng = random.Random(0)
    for trial in range(200):
        lines = [rng.choice(["", "a", "b b", "c"]) for _ in range(rng.randint(1, 12))]
        order = plan_call(len(lines), rng.randint(0, 6), seed=trial)
        assert merge_copies(order, [lines[i].upper() for i in order]) == \
            ([line.upper() for line in lines], None)
