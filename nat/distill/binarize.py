"""Binarize the distilled text with the teacher's dictionaries (the real fairseq-preprocess),
so ``fairseq-train OUT/bin`` (e.g. ``--task translation_lev``) runs on it directly.

A valid split comes from ``--valid-source/--valid-target`` (binarized as given) or, by default, is
copied from the teacher's data-bin (same dictionaries, so the binaries stay valid).
The binaries are built in a temp directory and renamed into place.
"""
import glob
import os
import shutil

from nat import fairseq_cli


def binarize(out_dir, split, teacher, data_bin, valid_prefix=None, copy_valid=True):
    """Write ``out_dir/bin``; returns what the valid/test splits are made of."""
    src, tgt = teacher.source_lang, teacher.target_lang
    tmp = os.path.join(out_dir, ".bin-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    prefixes, extra = {split: os.path.join(out_dir, split)}, {}
    if valid_prefix and split != "valid":
        prefixes["valid"] = valid_prefix
        extra["valid"] = f"binarized from {valid_prefix}.{{{src},{tgt}}}"
    fairseq_cli.preprocess(tmp, prefixes, src, tgt, srcdict=teacher.src_dict,
                           tgtdict=teacher.tgt_dict,
                           log_path=os.path.join(out_dir, "preprocess.log"))
    if copy_valid and not valid_prefix:
        for other in ("valid", "test"):
            if other == split:
                continue
            files = glob.glob(os.path.join(data_bin, f"{other}.{src}-{tgt}.*.bin")) + \
                glob.glob(os.path.join(data_bin, f"{other}.{src}-{tgt}.*.idx"))
            for path in sorted(files):
                shutil.copyfile(path, os.path.join(tmp, os.path.basename(path)))
            if files:
                extra[other] = f"copied from {data_bin}"
    final = os.path.join(out_dir, "bin")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return extra
