"""Deployable NAT inference: export to ONNX (``nat-export``) and translate (``nat-translate``).

``graphs`` cuts a one-pass NAT into two tensor-only halves, ``search`` is the numpy glue
between them, ``export`` writes a model directory, ``runtime`` runs one (ONNX Runtime) or a
checkpoint (torch), ``translator.Translator`` turns lines of text into translations.
Importing this package imports neither fairseq nor onnxruntime.
"""


def __getattr__(name):
    if name == "Translator":
        from nat.translate.translator import Translator

        return Translator
    raise AttributeError(name)
