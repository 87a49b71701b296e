"""Settings of one ``nat-shrink`` run, defaults and help in one place (the API's config and the
command's flags, ``nat.cli.add_dataclass_arguments``)."""
from dataclasses import asdict, dataclass
from typing import List, Optional

from nat.cli import arg, nonnegative_int, positive_int
from nat.distill.shrink import parse_layer_list
from nat.errors import UserError

#: the groups of nat-shrink's --help
IO, LAYERS, NAT = "inputs and outputs", "layers", "a NAT initialised from the teacher (--nat)"


@dataclass
class ShrinkConfig:
    teacher: str = arg("teacher checkpoint (a fairseq encoder-decoder transformer)",
                       positional=True, metavar="TEACHER", group=IO)
    out: str = arg("checkpoint to write; its record goes to OUT.json", group=IO)
    encoder_layers: Optional[int] = arg(
        "student encoder layers (default: the teacher's; with --nat: the architecture's)", None,
        type=positive_int, group=LAYERS)
    decoder_layers: Optional[int] = arg(
        "student decoder layers (default: the teacher's; with --nat: the architecture's)", None,
        type=positive_int, group=LAYERS)
    encoder_keep: Optional[List[int]] = arg(
        "teacher encoder layers to copy, e.g. 0,2,5 (default: Shleifer & Rush's choice for "
        "6/12/16-layer teachers, else evenly spaced keeping the first and last)", None,
        type=parse_layer_list, metavar="LAYERS", group=LAYERS)
    decoder_keep: Optional[List[int]] = arg("teacher decoder layers to copy (as --encoder-keep)",
                                            None, type=parse_layer_list, metavar="LAYERS",
                                            group=LAYERS)
    nat: Optional[str] = arg(
        "instead of a shrunk copy, a NAT of this architecture (e.g. nat_ctc_tiny) whose encoder "
        "and embeddings are the teacher's (its decoder layers start fresh)", None,
        metavar="ARCH", group=NAT)
    data_bin: Optional[str] = arg(
        "the data-bin the student trains on: its dictionaries must be the teacher's (required "
        "with --nat, checked when given)", None, group=IO)
    seed: int = arg("seed of the NAT's fresh parameters", 1, type=nonnegative_int, group=NAT)
    overwrite: bool = arg("replace an existing OUT", False, group=IO)

    def __post_init__(self):
        self.validate()

    def validate(self):
        if self.nat is not None:
            if self.data_bin is None:
                raise UserError("--nat needs --data-bin (the NAT is built for its dictionaries)")
            if self.decoder_keep is not None:
                raise UserError("--decoder-keep: with --nat the decoder layers start fresh (only "
                                "the encoder is copied)")
        elif self.encoder_layers is None and self.decoder_layers is None and \
                self.encoder_keep is None and self.decoder_keep is None:
            raise UserError("give --encoder-layers and/or --decoder-layers (or --encoder-keep / "
                            "--decoder-keep): the student would be the teacher")
        for name in ("encoder_layers", "decoder_layers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"--{name.replace('_', '-')} {value}: must be >= 1")

    def as_dict(self):
        return asdict(self)
