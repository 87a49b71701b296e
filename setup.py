"""nat-kd: non-autoregressive MT and sequence-level knowledge distillation as fairseq plugins.

Dependencies are pinned on purpose (see README, "Install"): a looser torch pulls several GB of
CUDA wheels, and official fairseq 0.12.2 does not build on Python 3.11.  The full tested set of
transitive versions is in constraints.txt.
"""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "torch==2.13.0",          # CPU wheel; anything looser downloads CUDA
    "ve-fairseq==0.12.3",     # prebuilt cp311/cp312 fairseq (upstream main + 3.11 patch)
    "torchaudio==2.11.0",     # pulled by fairseq; pinned so it never drags another torch
    "numpy==2.4.6",
    "scipy==1.17.1",          # analysis: sparse logistic regression (already pulled by fairseq)
    "sacrebleu==2.6.0",
    "sentencepiece==0.2.3",
    "matplotlib==3.11.2",
    "tqdm==4.70.1",
    "PyYAML==6.0.3",
    "eflomal==2.0.0",
    "ctranslate2==4.8.5",
    "onnx==1.23.2",           # nat-export: the graphs (written by torch's exporter)
    "onnxruntime==1.32.0",    # nat-translate / nat-bench speed: the deployed runtime, int8
]

CONSOLE_SCRIPTS = [
    "nat-smoke = data_scripts.smoke:main",
    "nat-synth = data_scripts.synth_cli:main",
    "nat-distill = data_scripts.distill_cli:main",
    "nat-prepare = data_scripts.prepare_cli:main",
    "nat-analyze = analysis.cli:main",
    "nat-experiment = data_scripts.experiment_cli:main",
    "nat-bench = nat.bench.cli:main",
    "nat-export = data_scripts.export_cli:main",
    "nat-translate = data_scripts.translate_cli:main",
    "nat-shrink = data_scripts.shrink_cli:main",
    "nat-multilingual = data_scripts.multilingual_cli:main",
    "nat-gettext = data_scripts.gettext_cli:main",
]

setup(
    name="nat-kd",
    version="0.1.0",
    description="NAT models, distillation pipeline and analysis as fairseq plugins",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=["nat", "nat.*", "fairseq_plugins", "fairseq_plugins.*",
                                    "data_scripts", "data_scripts.*", "analysis", "analysis.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": ["pytest==9.2.0"]},
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
)
