"""nat-kd core library: framework-independent pieces (losses, dynamic programs, text I/O,
metrics) plus thin helpers around the real fairseq command-line tools.

Importing ``nat`` does not import fairseq; modules that need it import it themselves.
"""
__version__ = "0.1.0"
