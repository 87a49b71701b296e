"""Corpus and output analysis (`nat-analyze`): complexity, multimodality, language mixing, reports.

Python API (lists of lines in, dicts out; ``analysis.api``):
    analyze_corpus(source, target, lexicon=None, align=None, aligner=None, extra_aligners=(),
                   reference_target=None, modes=None, ..., recogniser=None)
                                                            -> C(d), F(d), reordering, mixing,
                                                               mode-classifier cross-entropy,
                                                               distinct-n, synonym diversity
    analyze_outputs(hypotheses, references=None, lexicon=None, gold_languages=None,
                    references_by_language=None, truth=None,
                    rare_words=None, confidences=None)      -> mixing, repetition, distinct-n,
                                                               BLEU, valid rate, synonym
                                                               diversity, rare-word recall,
                                                               ECE / MCE
    compare([metrics, ...])                                 -> side-by-side table
    validation.against_truth(metrics, truth.json, split, lexicon, source, target)
    report.write_analysis(metrics, out_dir) / report.write_comparison(table, analyses, out_dir)

One concept per module: entropy, tokens, links, lextable, alignment (eflomal / gold), ibm1,
complexity (C(d), F(d)), reordering, mixing, repetition, bleu, sentence_level (mode classifier),
nll_gap (total correlation from model scores), model_nll (those scores from AT and NAT
checkpoints, in-process with fairseq), validity (exact valid rate), diversity (synonym entropy
against the generator) with plugin_entropy (the plug-in's exact moments), distinct
(distinct-n), rare_words (recall by training frequency), calibration (ECE, MCE) with
token_labels (which output tokens are correct) and reliability_plot, progress (tqdm bars),
corpus_stats, validation, plots, report, cli;
and levels (word vs subword: sentencepiece pieces decoded for word-level numbers).  The
lexicon of real text from mode-labelled targets is made in ``nat.prepare.lexicon``.
Every number carries its settings (aligner, unit, weighting, correction, smoothing) in the JSON.
"""
