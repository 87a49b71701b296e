"""Glancing inside the real fairseq models (built in-process on the toy data-bin, no training)."""
import pytest
import torch

from nat import ctc, glancing


def build(data_bin, arch, *extra):
    from fairseq import options, tasks

    import fairseq_plugins  # noqa: F401  (registers the models)

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        data_bin, "--task", "translation_lev", "--criterion", "nat_loss", "--arch", arch,
        "--noise", "full_mask", "--cpu", "--dropout", "0", "--encoder-embed-dim", "32",
        "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
        "--decoder-ffn-embed-dim", "64", "--encoder-layers", "1", "--decoder-layers", "1",
        *extra])
    task = tasks.setup_task(args)
    task.load_dataset("valid")
    torch.manual_seed(0)
    model = task.build_model(args)
    ds = task.dataset("valid")
    batch = ds.collater([ds[i] for i in range(16)])
    return model, batch


def first_pass(model, batch, dec_in):
    net = batch["net_input"]
    encoder_out = model.encoder(net["src_tokens"], src_lengths=net["src_lengths"])
    with torch.no_grad():
        logits = model.decoder(normalize=False, prev_output_tokens=dec_in, encoder_out=encoder_out)
    return encoder_out, logits


def test_glat_reveals_floor_ratio_times_hamming_errors(toy_data_bin):
    model, batch = build(toy_data_bin, "nat_glat_tiny", "--glat-ratio", "0.7")
    model.train()
    tgt = batch["target"]
    dec_in = model.placeholder(tgt.ne(model.pad).sum(1))
    encoder_out, logits = first_pass(model, batch, dec_in)
    errors = [sum(int(p != t) for p, t, m in zip(prow, trow, mrow) if m)
              for prow, trow, mrow in zip(logits.argmax(-1).tolist(), tgt.tolist(),
                                          tgt.ne(model.pad).tolist())]
    assert sum(errors) > 0
    reference, reveal = model.glance(encoder_out, dec_in, tgt)
    assert torch.equal(reference, tgt)
    assert reveal.sum(1).tolist() == [int(0.7 * e) for e in errors]
    assert not (reveal & tgt.eq(model.pad)).any()
    out = model(batch["net_input"]["src_tokens"], batch["net_input"]["src_lengths"],
                None, tgt)
    assert out["word_ins"]["mask"].sum().item() == tgt.ne(model.pad).sum().item() - sum(
        int(0.7 * e) for e in errors)


def test_ctc_glancing_counts_errors_against_viterbi_alignment(toy_data_bin):
    model, batch = build(toy_data_bin, "nat_ctc_glat_tiny", "--glat-ratio", "0.5")
    model.train()
    net = batch["net_input"]
    src_len = net["src_tokens"].ne(model.pad).sum(1)
    target, target_lengths = model.ctc_target(batch["target"])
    assert not target.eq(model.eos).any() and not target.eq(model.bos).any()
    encoder_out = model.encoder(net["src_tokens"], src_lengths=net["src_lengths"])
    lengths = model.decoder_lengths(encoder_out)
    assert lengths.tolist() == [int(2 * n) for n in src_len.tolist()]
    dec_in = model.placeholder(lengths)
    _, logits = first_pass(model, batch, dec_in)
    aligned, scores = ctc.best_alignment(logits.log_softmax(-1), target, lengths,
                                         target_lengths, model.decoder.blank)
    assert torch.isfinite(scores).all()
    errors = glancing.hamming_errors(logits.argmax(-1), aligned, dec_in.ne(model.pad))
    reference, reveal = model.glance(encoder_out, dec_in, (target, target_lengths))
    assert torch.equal(reference, aligned)
    assert reveal.sum(1).tolist() == [int(0.5 * e) for e in errors.tolist()]
    for b in range(target.size(0)):
        read = ctc.collapse(reference[b:b + 1, :lengths[b]], model.decoder.blank)[0][0]
        assert read.tolist() == target[b, :target_lengths[b]].tolist()
    out = model(net["src_tokens"], net["src_lengths"], None, batch["target"])
    assert torch.isfinite(out["ctc"]["loss"]) and out["ctc"]["loss"].requires_grad


def test_ratio_anneals_with_updates_and_glancing_is_training_only(toy_data_bin):
    model, batch = build(toy_data_bin, "nat_glat_tiny", "--glat-ratio", "0.5",
                         "--glat-ratio-final", "0.1", "--glat-anneal-updates", "100")
    model.set_num_updates(50)
    assert model.glancing_ratio() == pytest.approx(0.3)
    model.set_num_updates(1000)
    assert model.glancing_ratio() == pytest.approx(0.1)
    model.eval()
    tgt = batch["target"]
    dec_in = model.placeholder(tgt.ne(model.pad).sum(1))
    encoder_out, _ = first_pass(model, batch, dec_in)
    assert model.glance(encoder_out, dec_in, tgt) is None
