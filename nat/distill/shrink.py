"""Shrink and fine-tune (Shleifer & Rush 2020): a student made of chosen teacher layers.

Pure functions over fairseq state dicts (no fairseq, no I/O): which teacher layers a student of
K layers keeps, and the student's weights, those layers renumbered ``0..K-1`` and every other
tensor (embeddings, output projection, positions, layer norms outside the layers) as it is.
"""
import re

from nat.errors import UserError

SIDES = ("encoder", "decoder")

#: the teacher layers Shleifer & Rush copy (``LAYERS_TO_COPY`` of their released code): teacher
#: depth -> student depth -> layers.  Hand-picked, "not exactly alternating": spread out, first
#: and last kept from 3 layers up (12 -> 2 keeps 0 and 6); one layer keeps the first.
PAPER_LAYERS = {
    6: {1: [0], 2: [0, 5], 3: [0, 2, 5], 4: [0, 1, 3, 5]},
    12: {1: [0], 2: [0, 6], 3: [0, 6, 11], 4: [0, 4, 8, 11], 6: [0, 2, 4, 7, 9, 11],
         9: [0, 1, 2, 4, 5, 7, 9, 10, 11]},
    16: {1: [0], 2: [0, 15], 3: [0, 8, 15], 4: [0, 5, 10, 15], 6: [0, 3, 6, 9, 12, 15],
         8: [0, 2, 4, 6, 8, 10, 12, 15], 9: [0, 1, 3, 5, 7, 9, 11, 13, 15],
         12: [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15]},
}

_LAYER = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")
_ANY_LAYER = re.compile(r"\.layers\.\d+\.")


def parse_layer_list(text):
    """``"0,2,5"`` -> ``[0, 2, 5]`` (argparse ``type=``: a bad list is one line)."""
    import argparse

    try:
        layers = [int(part) for part in str(text).split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer numbers such as 0,2,5, got {text!r}") from None
    return layers


def evenly_spaced(n_teacher, n_student):
    """``n_student`` of ``range(n_teacher)`` spread evenly, first and last included (one layer:
    the first): ``i * (N - 1) // (K - 1)``, which gives the paper's choice for 6-layer teachers."""
    if n_student == 1:
        return [0]
    return [i * (n_teacher - 1) // (n_student - 1) for i in range(n_student)]


def default_layers(n_teacher, n_student):
    """``(layers, how)``: the paper's table where it has the depths, else evenly spaced."""
    if n_student == n_teacher:
        return list(range(n_teacher)), "all"
    if n_student in PAPER_LAYERS.get(n_teacher, {}):
        return list(PAPER_LAYERS[n_teacher][n_student]), "Shleifer & Rush table"
    return evenly_spaced(n_teacher, n_student), "evenly spaced"


def choose_layers(side, n_teacher, n_student=None, keep=None):
    """``(layers, how)``: the teacher layers (increasing) that a ``side`` of ``n_student``
    layers starts from: ``keep`` as given, else ``default_layers``; no count: all of them.
    Bad settings are one-line ``UserError``s naming the flag."""
    count_flag, keep_flag = f"--{side}-layers", f"--{side}-keep"
    if n_teacher == 0 and (n_student is not None or keep is not None):
        raise UserError(f"{keep_flag if keep is not None else count_flag}: the teacher has no "
                        f"{side}.layers.<i>.* tensors (not a fairseq transformer)")
    if keep is not None:
        keep = [int(i) for i in keep]
        if not keep:
            raise UserError(f"{keep_flag}: give at least one layer")
        outside = [i for i in keep if not 0 <= i < n_teacher]
        if outside:
            raise UserError(f"{keep_flag} {_listed(keep)}: the teacher's {side} has layers "
                            f"0..{n_teacher - 1}, not {outside[0]}")
        if any(a >= b for a, b in zip(keep, keep[1:])):
            raise UserError(f"{keep_flag} {_listed(keep)}: list distinct layers in increasing "
                            f"order")
        if n_student is not None and n_student != len(keep):
            raise UserError(f"{count_flag} {n_student} disagrees with {keep_flag} "
                            f"{_listed(keep)} ({len(keep)} layers)")
        return keep, "explicit"
    if n_student is None:
        return list(range(n_teacher)), "all"
    if n_student < 1:
        raise UserError(f"{count_flag} {n_student}: must be >= 1")
    if n_student > n_teacher:
        raise UserError(f"{count_flag} {n_student}: the teacher's {side} has only "
                        f"{n_teacher} layers")
    return default_layers(n_teacher, n_student)


def _listed(layers):
    return ",".join(map(str, layers))


def layer_counts(weights):
    """``{"encoder": N, "decoder": M}``: the layers of a fairseq encoder-decoder state dict
    (``encoder.layers.<i>.*``), which must be numbered ``0..N-1``."""
    found = {side: set() for side in SIDES}
    for key in weights:
        match = _LAYER.match(key)
        if match:
            found[match.group(1)].add(int(match.group(2)))
        elif _ANY_LAYER.search(key):
            raise UserError(f"unknown layer layout: {key} (expected encoder.layers.<i>.* and "
                            f"decoder.layers.<i>.*, as in fairseq's transformer)")
    counts = {}
    for side, layers in found.items():
        if layers != set(range(len(layers))):
            raise UserError(f"the {side} layers are numbered {sorted(layers)}, not "
                            f"0..{len(layers) - 1}")
        counts[side] = len(layers)
    return counts


def renumbering(weights, keep):
    """``{student key: teacher key}``: each kept layer ``keep[side][j]`` becomes layer ``j``,
    dropped layers vanish, every tensor outside the layers keeps its name.  ``keep`` maps a
    side to its kept teacher layers (a side not given keeps all of them)."""
    position = {side: {old: new for new, old in enumerate(layers)}
                for side, layers in keep.items()}
    mapping = {}
    for key in weights:
        match = _LAYER.match(key)
        if match is None:
            mapping[key] = key
            continue
        side, old, rest = match.group(1), int(match.group(2)), match.group(3)
        if side not in position:
            mapping[key] = key
        elif old in position[side]:
            mapping[f"{side}.layers.{position[side][old]}.{rest}"] = key
    return mapping


def shrink_weights(weights, keep):
    """``(student state dict, {student key: teacher key})``: the teacher's tensors themselves
    (no copies; ``torch.save`` writes them once), renamed by ``renumbering``."""
    mapping = renumbering(weights, keep)
    return {new: weights[old] for new, old in mapping.items()}, mapping
