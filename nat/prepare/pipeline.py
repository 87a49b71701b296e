"""``prepare(cfg)``: raw text -> cleaned text -> sentencepiece -> pieces -> data-bin + manifest.

The whole directory is built under a temporary sibling (``.OUT.tmp-<pid>-*``, removed by the next
run once its process is gone) and renamed into place at the end, so a killed run leaves either
the old directory or the new one, never half of one.  A directory whose
manifest has the same key (settings + sha256 of every input file + format) is reused as is; one
made with other settings is refused unless ``overwrite``.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from nat import textio
from nat.hashing import file_sha256, json_key
from nat.errors import UserError
from nat.prepare import raw
from nat.prepare.binarize import binarize
from nat.prepare.config import PrepareConfig
from nat.prepare.layout import FORMAT, MANIFEST, TOOL, read_manifest, recorded_files
from nat.prepare.stages import (SIDES, _say, _write, encode_and_filter, policies,
                                read_and_filter, train_models, write_dictionaries,
                                write_lexicon, write_split)


def _versions():
    from importlib import metadata
    import platform

    out = {"python": platform.python_version()}
    for name in ("nat-kd", "sentencepiece", "ve-fairseq"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def input_hashes(found):
    return {split: {col: {"path": os.path.abspath(p), "sha256": file_sha256(p)}
                    for col, p in files.columns.items()} for split, files in found.items()}


def directory_key(cfg, inputs):
    return json_key({"format": FORMAT, "settings": cfg.settings(),
                     "inputs": {s: {c: v["sha256"] for c, v in cols.items()}
                                for s, cols in inputs.items()},
                     "sentencepiece": _versions()["sentencepiece"]}, length=16)


def _differences(old, cfg, inputs):
    changed = [f"{k} {old.get('settings', {}).get(k)!r} -> {v!r}"
               for k, v in cfg.settings().items() if old.get("settings", {}).get(k) != v]
    old_inputs = old.get("inputs", {})
    for split, cols in inputs.items():
        for col, v in cols.items():
            if old_inputs.get(split, {}).get(col, {}).get("sha256") != v["sha256"]:
                changed.append(f"{os.path.basename(v['path'])} changed")
    return ", ".join(changed[:4]) or "format or sentencepiece version"


def check_existing(cfg, key, inputs):
    """The manifest to reuse, or None to build; refuses to replace what it should not."""
    out = cfg.out
    if not os.path.exists(out):
        return None
    if not os.path.isdir(out):
        raise UserError(f"--out {out}: exists and is not a directory")
    manifest = read_manifest(out)
    if manifest is None:
        if os.listdir(out) and not cfg.overwrite:
            raise UserError(f"--out {out}: exists and is not a prepared directory (no "
                            f"{MANIFEST}); pass --overwrite or choose another --out")
        return None
    if manifest.get("tool") != TOOL and not cfg.overwrite:
        raise UserError(f"--out {out}: {MANIFEST} was not written by nat-prepare; pass "
                        f"--overwrite or choose another --out")
    if manifest.get("key") == key:
        if all(os.path.exists(os.path.join(out, p)) for p in recorded_files(manifest)):
            return manifest
        _say(cfg, f"{out}: files listed in {MANIFEST} are missing; rebuilding")
        return None
    if not cfg.overwrite:
        raise UserError(f"--out {out} was prepared with other settings or inputs "
                        f"({_differences(manifest, cfg, inputs)}); pass --overwrite or choose "
                        f"another --out")
    return None


def check_writable(out):
    """Before building: ``out`` (when it exists) and the directory the build is made in must be
    writable (the build is renamed into place, replacing ``out``)."""
    textio.output_dir(out, "--out")
    parent = os.path.dirname(os.path.abspath(out))
    try:
        textio.output_dir(parent, None)
    except UserError as err:
        raise UserError(f"--out {out}: it is built next to it, but {err}") from None


def install(build, out):
    """Move the finished build into ``out`` (replacing an old directory)."""
    out = os.path.abspath(out)
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(dir=os.path.dirname(out), prefix=f".{os.path.basename(out)}.old-")
        os.rmdir(old)
        os.replace(out, old)
    os.replace(build, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def prepare(config=None, **kwargs):
    """Prepare ``cfg.raw`` into ``cfg.out``; returns the manifest (``reused`` True when an
    identical preparation was already there)."""
    cfg = config if config is not None else PrepareConfig(**kwargs)
    textio.input_dir(cfg.raw, "--raw")
    if os.path.exists(cfg.out) and not os.path.isdir(cfg.out):
        raise UserError(f"--out {cfg.out}: exists and is not a directory")
    found = raw.find_inputs(cfg.raw, cfg.source_lang, cfg.target_lang)
    inputs = input_hashes(found)
    key = directory_key(cfg, inputs)
    existing = check_existing(cfg, key, inputs)
    if existing is not None:
        _say(cfg, f"{cfg.out} is already prepared with these settings (key {key}); reusing it")
        return {**existing, "reused": True}
    check_writable(cfg.out)
    parent = os.path.dirname(os.path.abspath(cfg.out))
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(os.path.abspath(cfg.out))}.tmp-"
    textio.remove_stale_temp_dirs(parent, prefix)         # builds of killed runs
    build = textio.make_temp_dir(parent, prefix)          # the user's umask, not 0700
    try:
        manifest = build_directory(cfg, found, inputs, key, build)
        install(build, cfg.out)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    _say(cfg, f"wrote {cfg.out}")
    return {**manifest, "reused": False}


def build_directory(cfg, found, inputs, key, build):
    timing, started = {}, time.perf_counter()

    def lap(name, since):
        timing[name] = round(time.perf_counter() - since, 3)
        return time.perf_counter()

    t0 = started
    texts, kept, counts = read_and_filter(cfg, found)
    t0 = lap("read_clean_s", t0)
    models, spm_info = train_models(cfg, build, texts["train"], kept["train"])
    t0 = lap("sentencepiece_train_s", t0)
    pieces = encode_and_filter(cfg, found, texts, kept, counts, models)
    t0 = lap("encode_s", t0)
    files, coverage = {"splits": {}}, {}
    for split in found:
        files["splits"][split], coverage[split] = write_split(
            cfg, build, split, texts[split], kept[split], pieces[split], models, counts[split])
    files["spm"] = {side: spm_info[side]["model"] for side in SIDES}
    files["vocab"] = {side: spm_info[side]["vocab"] for side in SIDES}
    files["dict"], dict_sizes = write_dictionaries(cfg, build, models, pieces["train"],
                                                   kept["train"])
    t0 = lap("write_s", t0)
    files["bin"] = None
    if cfg.binarize:
        _say(cfg, "binarizing with fairseq-preprocess")
        files["bin"] = "bin"
        replaced = binarize(cfg, build, files, {s: len(kept[s]) for s in found})
        langs = {"src": cfg.source_lang, "tgt": cfg.target_lang}
        for split in found:
            for side in SIDES:
                coverage[split][side]["fairseq_replaced_percent"] = replaced.get(
                    f"{split}.{langs[side]}")
    t0 = lap("binarize_s", t0)
    files["lexicon"], lexicon_info = None, None
    if files["splits"]["train"]["lang"]:
        files["lexicon"], lexicon_info = write_lexicon(cfg, build, texts["train"], kept["train"])
    lap("total_s", started)
    manifest = {
        "tool": TOOL, "format": FORMAT, "key": key, "command": " ".join(sys.argv),
        "settings": cfg.settings(),
        "languages": {"source": cfg.source_lang, "target": cfg.target_lang},
        "inputs": inputs, "files": files,
        "sentencepiece": {"joint": cfg.joint, "trainer": cfg.spm_trainer_args(),
                          "seed": cfg.seed, "models": spm_info},
        "dictionaries": dict_sizes, "counts": counts, "coverage": coverage,
        "lexicon": lexicon_info, "policies": policies(cfg), "packages": _versions(),
        "timing": timing,
    }
    _write(build, MANIFEST, [json.dumps(manifest, indent=1, sort_keys=True,
                                        ensure_ascii=False)])
    return manifest
