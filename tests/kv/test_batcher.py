"""The batcher: batches of the sink's size, and a resume position that never claims a document
whose record has not been written. Checked against a recount of the documents, not against
the batcher's own counters."""
from __future__ import annotations

import random
from typing import Any, List, Sequence, Tuple

import pytest

from cutover.kv.batcher import NO_POSITION, Batcher
from cutover.kv.dryrun import DryRunSink
from cutover.kv.record import KVRecord
from cutover.kv.sink import FailedKey, KVSink, WriteResult
from cutover.kv.stats import ModuleStats


class ListSink(KVSink):
    """Keeps what it is given; `fail` keys come back failed; one request per write."""

    def __init__(self, batch_records: int, fail: Sequence[str] = ()) -> None:
        self.batch_records = batch_records
        self.writes: List[List[KVRecord]] = []
        self.fail = set(fail)

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        self.writes.append(list(records))
        result = WriteResult(requests=1)
        for r in records:
            if r.key in self.fail:
                result.failed.append(FailedKey(r.key, r.doc_id, "refused"))
            else:
                result.written += 1
        return result


Sent = Tuple[WriteResult, Any, ModuleStats]  # the counters copied when told (the checkpoint saves them then)


def feed(batcher: Batcher, batches: List[List[Tuple[int, bool]]]) -> None:
    """Documents (id, becomes a record?) in source batches, counted the way the backfill counts them."""
    for batch in batches:
        for doc_id, is_record in batch:
            batcher.stats.documents += 1
            if is_record:
                batcher.add(KVRecord(f"k{doc_id}", b"v" * (doc_id % 7 + 1), None, None, doc_id))
            else:
                batcher.stats.expired += 1
            batcher.advance(doc_id)
        batcher.batch_done()
    batcher.finish()


def random_batches(rng: random.Random, n: int, max_batch: int) -> List[List[Tuple[int, bool]]]:
    docs = [(i, rng.random() < 0.8) for i in range(1, n + 1)]
    out: List[List[Tuple[int, bool]]] = []
    while docs:
        size = rng.randint(1, max_batch)
        out.append(docs[:size])
        docs = docs[size:]
    return out


@pytest.mark.parametrize("seed", range(30))
def test_positions_never_claim_an_unwritten_document(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.randint(1, 9)
    batches = random_batches(rng, rng.randint(0, 80), max_batch=size)  # the scan asks for ≤ size
    sent: List[Sent] = []
    sink = ListSink(size)
    stats = ModuleStats()
    feed(Batcher(sink, stats, on_sent=lambda r, p, at: sent.append((r, p, at.copy()))), batches)

    docs = [d for b in batches for d in b]
    records = [d for d, is_record in docs if is_record]
    written = [r.doc_id for w in sink.writes for r in w]
    assert written == records  # every record once, in order
    assert all(0 < len(w) <= size for w in sink.writes)
    assert len(sent) >= len(sink.writes)  # finish() reports even when nothing is left to send
    done: List[int] = []
    for (result, position, at), write in zip(sent, sink.writes + [[]] * (len(sent) - len(sink.writes))):
        assert result.written == len(write)
        done += [r.doc_id for r in write]
        if position is NO_POSITION:
            assert not docs and at.documents == 0
            continue
        claimed = [d for d, _ in docs if d <= position]
        # the position's counters are a recount of the documents up to it
        assert at.documents == len(claimed)
        assert at.expired == sum(1 for d, is_record in docs if d <= position and not is_record)
        # and every record among them has been written
        assert set(d for d, is_record in docs if d <= position and is_record) <= set(done)
    last = sent[-1]
    if docs:
        assert last[1] == docs[-1][0] and last[2] == stats
    assert (stats.documents, stats.written, stats.requests) == (len(docs), len(records), len(sink.writes))
    assert stats.bytes == sum(d % 7 + 1 for d in records)


def test_a_source_batch_that_completes_a_batch_sends_it_and_keeps_the_rest() -> None:
    sent: List[Sent] = []
    sink = ListSink(3)
    batcher = Batcher(sink, ModuleStats(), on_sent=lambda r, p, at: sent.append((r, p, at.copy())))
    feed(batcher, [[(1, True), (2, True)], [(3, True), (4, True), (5, False)], [(6, True)]])
    assert [[r.doc_id for r in w] for w in sink.writes] == [[1, 2, 3], [4, 6]]
    # the first batch goes with position 3 (not 5: record 4 was still waiting)
    assert sent[0][1] == 3 and sent[0][2].documents == 3 and sent[0][2].written == 3
    assert sent[1][1] == 6 and sent[1][2].documents == 6 and sent[1][2].expired == 1


def test_resumes_from_the_saved_position_and_failures_are_counted() -> None:
    sent: List[Sent] = []
    sink = ListSink(2, fail=["k11"])
    stats = ModuleStats(documents=10, written=10)  # what the checkpoint carried
    batcher = Batcher(sink, stats, after_id=10, on_sent=lambda r, p, at: sent.append((r, p, at.copy())))
    batcher.finish()  # nothing new: the saved position is reported back, not NO_POSITION
    assert sent[-1][1] == 10 and sink.writes == []
    feed(batcher, [[(11, True), (12, True)], [(13, True)]])
    assert (stats.documents, stats.written, stats.failed) == (13, 12, 1)
    assert [f.key for f in sent[1][0].failed] == ["k11"]


@pytest.mark.parametrize("mode", ["bulk", "put"])
def test_with_the_dry_run_sink(mode: str) -> None:
    sink = DryRunSink(mode, batch_size=4)
    stats = ModuleStats()
    feed(Batcher(sink, stats), random_batches(random.Random(7), 50, max_batch=sink.batch_records))
    records = stats.documents - stats.expired
    assert stats.written == records
    # bulk: one request per batch of four; put: one per key
    assert stats.requests == (-(-records // 4) if mode == "bulk" else records)
