"""``generate_corpus``: draw the splits, stream them to disk, and write the exact truth.

Files per split: ``.src .tgt .lang .align`` (line-parallel; in ``all`` mode each source line
appears once per language, consecutively), plus ``test.ref.<code>``: every test source line
translated into each language with the most likely synonym of every word (the mode of
p(y | x, language)).  Each split has its own random stream derived from ``seed`` and the split
name, so changing ``--train`` leaves valid and test unchanged.

``truth.json`` holds, per split, exact averages over its lines in bits (``nat.synth.truth``):
``h_lang_given_src``, ``h_tgt_given_src``, ``sum_token_entropy``, ``total_correlation``, the
same given the target length (``h_len_given_src``, ``h_tgt_given_src_len``,
``sum_token_entropy_given_len``, ``total_correlation_given_len``), plus counts and settings.
"""
import math
import os
import random
import shutil

from nat.errors import UserError
from nat.synth.lexicon import World, lexicon_dict
from nat.synth.pairing import Pairing
from nat.synth.settings import LANGUAGES, MODES, make_settings
from nat.synth.truth import SourceTruth, TruthTotals
from nat.synth.writer import ParallelFiles, file_mode
from nat.textio import (make_temp_dir, output_dir, publish, remove_stale_temp_dirs,
                        write_json_atomic)

SPLITS = ("train", "valid", "test")
PAIRING_NOTE = {
    "random": "pi(L|x) = mix for every source",
    "deterministic": "pi(L|x) = 1 for the language of the subject noun's lemma "
                     "(lexicon.json: deterministic.language_of_noun)",
    "all": "each source once per language (3 lines); pi(L|x) = 1/3, the data's conditional"}
DEFAULT_MIX = (0.34, 0.33, 0.33)
STAGING = ".tmp-synth-"           # the temporary directory inside --out (see generate_corpus)


def check_mix(mix):
    """A tuple of three non-negative floats summing to 1 (string ``"a,b,c"`` accepted)."""
    if isinstance(mix, str):
        try:
            mix = [float(v) for v in mix.split(",")]
        except ValueError:
            raise UserError(f"--mix must be comma-separated numbers, got {mix!r}") from None
    mix = tuple(float(v) for v in mix)
    if len(mix) != len(LANGUAGES):
        raise UserError(f"--mix needs {len(LANGUAGES)} values, got {len(mix)}")
    if any(not math.isfinite(v) or v < 0 for v in mix):
        raise UserError(f"--mix values must be non-negative, got {','.join(map(str, mix))}")
    if abs(sum(mix) - 1.0) > 1e-6:
        raise UserError(f"--mix must sum to 1, got {sum(mix):g}")
    return tuple(v / sum(mix) for v in mix)


def check_sizes(sizes):
    """``{"train": n, "valid": n, "test": n}`` of non-negative ints (a 3-tuple accepted)."""
    if not isinstance(sizes, dict):
        sizes = dict(zip(SPLITS, sizes))
    if set(sizes) != set(SPLITS):
        raise UserError(f"sizes must name exactly {', '.join(SPLITS)}")
    for split in SPLITS:
        value = sizes[split]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UserError(f"--{split} must be a non-negative integer, got {value!r}")
    if sizes["train"] < 1:      # an empty training set has no entropies to report (nulls)
        raise UserError(f"--train must be at least 1, got {sizes['train']}")
    return {split: sizes[split] for split in SPLITS}


def corpus_files(directory):
    """Files of a nat-synth corpus already in ``directory`` (what a new run would replace)."""
    if not os.path.isdir(directory):
        return []
    names = {f"{split}.{ext}" for split in SPLITS for ext in ("src", "tgt", "lang", "align")}
    names |= {"lexicon.json", "truth.json"}
    found = [n for n in os.listdir(directory) if n in names or n.startswith("test.ref.")]
    return sorted(found, key=lambda n: (not n.startswith("train."), n))


def check_out(out_dir, overwrite=False):
    """Refuse an ``out_dir`` that cannot be written, or that already holds corpus files (unless
    ``overwrite``): a second run used to replace train.src and friends silently."""
    output_dir(out_dir, "--out")
    existing = corpus_files(out_dir)
    if existing and not overwrite:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise UserError(f"--out {out_dir} already holds a corpus ({shown}); pass --overwrite "
                        f"to replace it, or choose another --out")


def _split(out_dir, split, n, world, pairing, seed, progress):
    """Stream one split to disk; returns its ``TruthTotals`` result."""
    grammar, langs, codes = world.grammar, world.languages, world.codes
    rng = random.Random(f"nat-synth:{seed}:{split}")
    r = rng.random
    truth = SourceTruth(langs)
    totals = TruthTotals(len(langs))
    words = grammar.words
    lang_lines = [code + "\n" for code in codes]
    names = [f"{split}.{ext}" for ext in ("src", "tgt", "lang", "align")]
    if split == "test":
        names += [f"test.ref.{code}" for code in codes]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n, desc=f"nat-synth {split}", unit="src", mininterval=1.0)
    with ParallelFiles(out_dir, names) as files:
        w_src, w_tgt, w_lang, w_align = (files[name].write for name in names[:4])
        w_refs = [files[name].write for name in names[4:]]
        for i in range(n):
            s = grammar.sample(r)
            src_line = " ".join(map(words.__getitem__, s.src)) + "\n"
            pi = pairing.pi(s)
            values = truth(s, pi)
            refs = None
            if w_refs:
                refs = [" ".join(lang.realise(s, lang.best)[0]) + "\n" for lang in langs]
            for k in pairing.languages(s, r):
                tgt_line, align_line, tgt_len = langs[k].sample(s, r)
                w_src(src_line)
                w_tgt(tgt_line + "\n")
                w_lang(lang_lines[k])
                w_align(align_line + "\n")
                for write, ref in zip(w_refs, refs or ()):
                    write(ref)
                totals.add(values, pi, k, len(s.src), tgt_len)
            if bar is not None and i % 4096 == 4095:
                bar.update(4096)
    if bar is not None:
        bar.update(n - bar.n)
        bar.close()
    return totals.result(codes)


def generate_corpus(out_dir, mode="random", mix=DEFAULT_MIX, seed=1, sizes=(20000, 500, 500),
                    preset="default", progress=False, overwrite=False, **grammar_settings):
    """Write a synthetic three-language corpus with exact ground truth into ``out_dir``.

    ``sizes`` counts source sentences per split (``all`` mode writes 3 lines per source; train
    needs at least one, valid and test may be empty); ``grammar_settings`` override fields of
    the preset's ``SynthSettings``.  An ``out_dir`` that already holds corpus files is refused
    unless ``overwrite``.  Every file is written under a temporary directory inside ``out_dir``
    and moved into place at the end, ``truth.json`` last, so a killed run leaves no
    complete-looking corpus.  Returns the ``truth.json`` object (per-split averages in bits,
    settings, seed).
    """
    if mode not in MODES:
        raise UserError(f"unknown --mode {mode!r} (choose from {', '.join(MODES)})")
    mix = check_mix(mix)
    sizes = check_sizes(sizes)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"--seed must be an integer, got {seed!r}")
    settings = make_settings(preset, **grammar_settings)
    world = World(settings)
    pairing = Pairing(mode, mix, world.grammar)
    check_out(out_dir, overwrite)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {out_dir}: cannot create it ({err.strerror})") from None
    remove_stale_temp_dirs(out_dir, STAGING)
    staging = make_temp_dir(out_dir, STAGING)
    try:
        truth = _write_corpus(staging, mode, mix, seed, sizes, preset, progress, settings,
                              world, pairing)
        publish(staging, out_dir, "truth.json")  # truth last, the old one never beside new files
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return truth


def _write_corpus(out_dir, mode, mix, seed, sizes, preset, progress, settings, world, pairing):
    truth = {"unit": "bits", "mode": mode, "mix": dict(zip(world.codes, mix)), "seed": seed,
             "preset": preset, "sizes": sizes,
             "expected_mix": dict(zip(world.codes, pairing.marginal)),
             "pairing": PAIRING_NOTE[mode],
             "settings": settings.as_dict(),
             "references": "test.ref.<lang>: most likely synonym of every word (the mode of "
                           "p(y|x, lang)); averages are over the lines of each split"}
    for split in SPLITS:
        truth[split] = _split(out_dir, split, sizes[split], world, pairing, seed, progress)
    for name, obj, indent in (("lexicon.json", lexicon_dict(world, pairing), None),
                              ("truth.json", truth, 1)):
        path = os.path.join(out_dir, name)
        write_json_atomic(path, obj, indent=indent)
        os.chmod(path, file_mode())
    return truth
