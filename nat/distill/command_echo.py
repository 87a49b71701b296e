"""Echo check of a black-box teacher: some lines of each call are sent twice.

A teacher that answers line by line, in order, gives both copies of a line the same answer.
One that reorders its lines (sorts them by length, returns them as parallel workers finish,
reverses or shifts them) puts other lines' answers at the copies' positions, which then differ.
Nothing about the teacher has to be known in advance, and a call needs no extra process.

What it cannot detect: a reordering that leaves every probe's two positions holding answers of
one line (e.g. two non-probe lines swapped: with ``k`` probes in a call of ``n`` lines, a swap
of two random lines touches a probe position with probability about ``4k / (n + k)``); answers
that are consistently wrong for a line; lines mixed up across calls (each call is separate).
A teacher that is not deterministic (sampling) fails the check although it keeps the order.
"""
import random


def plan_call(count, probes, seed):
    """Send order of a call of ``count`` lines: indices ``0..count-1`` in order, with
    ``min(probes, count)`` of them (drawn from ``seed``) inserted a second time at drawn
    positions.  Depends on nothing but its arguments, so a re-run sends the same lines."""
    rng = random.Random(f"echo:{seed}")
    order = list(range(count))
    for index in rng.sample(range(count), min(probes, count)):
        order.insert(rng.randrange(len(order) + 1), index)
    return order


def merge_copies(order, answers):
    """``(answers by index, None)``, or ``(None, index)`` for the first line whose two copies
    got different answers.  ``answers`` are in send order (one per entry of ``order``)."""
    by_index = {}
    for index, answer in zip(order, answers):
        if by_index.setdefault(index, answer) != answer:
            return None, index
    return [by_index[i] for i in range(len(by_index))], None
