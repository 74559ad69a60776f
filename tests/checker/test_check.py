#!/usr/bin/env python3
"""The checker's own tests: hand-made histories, each anomaly class found
(with the operations that prove it), and valid histories with none."""
import io
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import raftq_check  # noqa: E402


class H:
    """Builds a history: each call adds an invoke and its completion."""

    def __init__(self):
        self.events, self.t = [], 0

    def op(self, proc, f, kind="ok", value=None, start=None, end=None):
        self.t += 10
        s = self.t if start is None else start
        e = s + 5 if end is None else end
        self.t = max(self.t, e)
        self.events.append({"process": proc, "type": "invoke", "f": f,
                            "time": s, "value": {}})
        self.events.append({"process": proc, "type": kind, "f": f,
                            "time": e, "value": value or {}})
        return self

    def lines(self):
        evs = sorted(self.events, key=lambda e: e["time"])
        return [json.dumps(e) for e in evs]


def run(h):
    out = io.StringIO()
    n, bad = raftq_check.check(h.lines(), out)
    return n, bad, out.getvalue()


def produce(h, proc, mid, off, q=0, **kw):
    return h.op(proc, "produce", value={"id": mid, "topic": "t",
                                        "broker": "b1", "queue": q,
                                        "offset": off}, **kw)


def drain(h, msgs, q=0, min_offset=0):
    return h.op("d", "drain", value={"topic": "t", "broker": "b1",
                                     "queue": q, "min_offset": min_offset,
                                     "messages": msgs})


def deliver(h, member, ds, session=1, **kw):
    dl = [{"topic": "t", "broker": "b1", "queue": 0, "offset": o,
           "epoch": e, "id": "m%d" % o} for o, e in ds]
    return h.op(member, "consume", value={"group": "g", "member": member,
                                          "session": session,
                                          "deliveries": dl}, **kw)


def assigned(h, member, queues, ds=(), session=1):
    """A consume that says the member's queues (ids on b1) changed."""
    deliver(h, member, ds, session)
    h.events[-1]["value"]["assigned"] = [
        {"topic": "t", "broker": "b1", "queue": q} for q in queues]
    return h


def reset(h, off, epoch, kind="ok", **kw):
    return h.op("op", "reset", kind, value={"group": "g", "topics": [
        {"topic": "t", "epoch": epoch,
         "queues": [{"broker": "b1", "queue": 0, "offset": off}]}]}, **kw)


def unknown_reset(h, tag, **kw):
    """A reset of group g whose answer never came, tagged @tag."""
    return h.op("op", "reset", "info", value={
        "group": "g", "requester": tag, "error": "timed out"}, **kw)


def history(h, recs):
    """The cluster's reset history of g at the end: (tag, offset)."""
    return h.op("readback", "history", value={
        "group": "g", "topic": "t", "resets": [
            {"requester": tag, "topic": "t", "epoch": 9,
             "queues": [{"broker": "b1", "queue": 0, "offset": off}]}
            for tag, off in recs]})


def commit(h, proc, off, epoch, kind="ok", **kw):
    return h.op(proc, "commit", kind, value={
        "group": "g", "topic": "t", "epoch": epoch,
        "offsets": [{"broker": "b1", "queue": 0, "offset": off}]}, **kw)


def fetch(h, epoch, kind="ok", **kw):
    return h.op("f1", "fetch", kind, value={
        "group": "g", "topic": "t", "broker": "b1", "queue": 0,
        "epoch": epoch, "offset": 0}, **kw)


def read(h, off, **kw):
    return h.op("r", "read", value={"group": "g", "topic": "t", "offsets": [
        {"broker": "b1", "queue": 0, "offset": off}]}, **kw)


class Anomalies(unittest.TestCase):
    def found(self, h, kind, n_ops):
        n, bad, out = run(h)
        self.assertEqual(n, n_ops)
        self.assertEqual(bad, 1, out)
        self.assertIn("ANOMALY %s:" % kind, out)
        self.assertTrue(out.endswith("%d operations, 1 anomalies\n" % n_ops))
        return out

    def test_lost_write(self):
        h = H()
        produce(h, "p1", "a", 0)
        produce(h, "p1", "b", 1)
        drain(h, [[0, "a"]])
        out = self.found(h, "lost-write", 3)
        self.assertIn("acknowledged b at offset 1", out)
        self.assertEqual(out.count("  op: "), 2)

    def test_duplicate_at_two_offsets(self):
        h = H()
        produce(h, "p1", "a", 0)
        drain(h, [[0, "a"], [1, "a"]])
        self.found(h, "duplicate", 2)

    def test_reordering(self):
        h = H()
        produce(h, "p1", "a", 1)
        produce(h, "p1", "b", 0)
        out = self.found(h, "reordering", 2)
        self.assertIn("p1 produced a then b, stored at 1 then 0", out)

    def test_unknown_reset_settled_absent_explains_nothing(self):
        h = H()
        commit(h, "c", 5, 1)
        unknown_reset(h, "op-1")  # never applied: the history says so
        read(h, 8)  # 8 was never written
        history(h, [])
        out = self.found(h, "stale-read", 4)
        self.assertIn("read 8 of", out)

    def test_unknown_reset_settled_found_is_a_write(self):
        h = H()
        commit(h, "c", 5, 1)
        unknown_reset(h, "op-1")  # applied (to 8) at some point
        read(h, 8)  # fine: it may have applied before
        read(h, 7)  # never written by anyone
        history(h, [("op-1", 8)])
        out = self.found(h, "stale-read", 5)
        self.assertIn("read 7 of", out)

    def test_nonmonotonic_poll(self):
        h = H()
        deliver(h, "m1", [(0, 1), (1, 1)])
        deliver(h, "m1", [(1, 1)])
        self.found(h, "nonmonotonic-poll", 2)

    def test_nonmonotonic_poll_while_the_queue_stayed(self):
        h = H()
        assigned(h, "m1", [0, 1], [(0, 1), (1, 1)])
        assigned(h, "m1", [0])  # another queue left, not this one
        deliver(h, "m2", [(7, 1)], start=1)  # the other member, before
        deliver(h, "m1", [(1, 1)])
        self.found(h, "nonmonotonic-poll", 4)

    def test_poll_below_completed_reset(self):
        h = H()
        deliver(h, "m1", [(5, 1)])
        reset(h, 8, 2)
        deliver(h, "m1", [(6, 1)])
        out = self.found(h, "poll-below-reset", 3)
        self.assertIn("offset 6", out)

    def test_stale_commit_after_reset(self):
        h = H()
        reset(h, 0, 3)
        commit(h, "c1", 9, 2)
        self.found(h, "stale-commit", 2)

    def test_stale_fetch_after_reset(self):
        h = H()
        fetch(h, 2)
        reset(h, 0, 3)
        fetch(h, 2)
        out = self.found(h, "stale-fetch", 3)
        self.assertIn("fetch of t/b1/0 under epoch 2 served after a reset "
                      "to epoch 3 had returned", out)

    def test_stale_read(self):
        h = H()
        commit(h, "c1", 4, 0)
        commit(h, "c1", 7, 0)
        read(h, 4)
        out = self.found(h, "stale-read", 3)
        self.assertIn("read 4", out)

    def test_read_of_a_value_never_written(self):
        h = H()
        commit(h, "c1", 4, 0)
        read(h, 5)
        self.found(h, "stale-read", 2)


class Valid(unittest.TestCase):
    def clean(self, h, n_ops):
        n, bad, out = run(h)
        self.assertEqual((n, bad), (n_ops, 0), out)

    def test_produce_consume_drain(self):
        h = H()
        produce(h, "p1", "m0", 0)
        produce(h, "p1", "m1", 1)
        deliver(h, "c", [(0, 0), (1, 0)])
        drain(h, [[0, "m0"], [1, "m1"]])
        self.clean(h, 4)

    def test_concurrent_produces_may_land_either_way(self):
        h = H()
        produce(h, "p1", "a", 1, start=100, end=200)
        produce(h, "p1", "b", 0, start=150, end=160)  # overlapping
        self.clean(h, 2)

    def test_fetch_refused_or_concurrent_with_a_reset(self):
        h = H()
        reset(h, 0, 3, start=100, end=200)
        fetch(h, 2, start=150, end=160)  # concurrent: either way
        fetch(h, 2, "fail")  # refused (OFFSET_MOVED)
        fetch(h, 3)
        self.clean(h, 4)

    def test_retention_is_not_loss(self):
        h = H()
        produce(h, "p1", "a", 0)
        produce(h, "p1", "b", 1)
        drain(h, [[1, "b"]], min_offset=1)
        self.clean(h, 3)

    def test_redelivery_after_the_queue_left_and_came_back(self):
        h = H()
        assigned(h, "m1", [0], [(0, 1), (1, 1)])
        assigned(h, "m1", [])  # rebalanced away
        assigned(h, "m1", [0], [(0, 1)])  # back, from the commit
        self.clean(h, 3)

    def test_redelivery_after_another_member_had_the_queue(self):
        h = H()
        deliver(h, "m1", [(0, 1), (1, 1)])
        deliver(h, "m2", [(2, 1)])  # it had the queue meanwhile
        deliver(h, "m1", [(1, 1)])
        self.clean(h, 3)

    def test_unknown_reset_unsettled_may_have_written_anything(self):
        h = H()
        commit(h, "c", 5, 1)
        unknown_reset(h, "op-1")  # no history read: may be anything
        read(h, 7)
        self.clean(h, 3)

    def test_reset_moves_deliveries_on(self):
        h = H()
        deliver(h, "m1", [(5, 1)])
        reset(h, 2, 2)
        deliver(h, "m1", [(2, 2), (3, 2)])  # a new epoch may go back
        self.clean(h, 3)

    def test_concurrent_reset_explains_a_delivery(self):
        h = H()
        reset(h, 8, 2)
        deliver(h, "m1", [(1, 3)], start=200, end=300)
        reset(h, 0, 3, start=210, end=250)  # overlaps the delivery
        self.clean(h, 3)

    def test_unknown_reset_is_not_proof(self):
        h = H()
        reset(h, 8, 2, kind="info")
        deliver(h, "m1", [(1, 1)])
        commit(h, "c1", 1, 1)
        self.clean(h, 3)

    def test_reads_see_the_last_or_a_concurrent_write(self):
        h = H()
        commit(h, "c1", 4, 0)
        read(h, 4)
        commit(h, "c1", 7, 0, start=100, end=300)
        read(h, 4, start=150, end=160)  # concurrent with the write of 7
        read(h, 7, start=170, end=180)
        read(h, None, start=0, end=5)  # before anything
        reset(h, None, 1)  # undo to "no committed offset"
        read(h, None)
        self.clean(h, 8)

    def test_failed_write_is_never_read(self):
        h = H()
        commit(h, "c1", 4, 0, kind="fail")
        read(h, 4)
        n, bad, out = run(h)
        self.assertEqual(bad, 1, out)


class Allowances(unittest.TestCase):
    def test_allowed_class_is_printed_not_counted(self):
        h = H()
        produce(h, "p1", "a", 0)
        drain(h, [[0, "a"], [1, "a"]])
        out = io.StringIO()
        n, bad = raftq_check.check(h.lines(), out, allow=["duplicate"])
        self.assertEqual((n, bad), (2, 0))
        self.assertIn("ALLOWED duplicate:", out.getvalue())
        self.assertTrue(out.getvalue().endswith(
            "2 operations, 0 anomalies (1 allowed: duplicate)\n"))

    def test_reset_of_unknown_outcome_explains_a_delivery(self):
        h = H()
        reset(h, 8, 2)
        h.op("op", "reset", "info", value={"group": "g", "error": "?"})
        deliver(h, "m1", [(1, 3)])
        n, bad, out = run(h)
        self.assertEqual(bad, 0, out)

    def test_reset_of_unknown_outcome_explains_a_read(self):
        h = H()
        commit(h, "c1", 4, 0)
        h.op("op", "reset", "info", value={"group": "g", "error": "?"})
        read(h, 9)
        n, bad, out = run(h)
        self.assertEqual(bad, 0, out)


class Input(unittest.TestCase):
    def test_bad_line_names_it(self):
        with self.assertRaises(ValueError) as e:
            raftq_check.read_history(['{"type": "ok"}'])
        self.assertIn("line 1", str(e.exception))

    def test_main_exit_codes(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl",
                                         delete=False) as f:
            f.write("\n".join(H().op("p", "produce", value={
                "id": "a", "topic": "t", "broker": "b", "queue": 0,
                "offset": 0}).lines()))
        try:
            sys.stdout = io.StringIO()
            self.assertEqual(raftq_check.main(["x", f.name]), 0)
            self.assertEqual(
                raftq_check.main(["x", "--allow", "duplicate", f.name]), 0)
            self.assertEqual(
                raftq_check.main(["x", "--allow", "nonsense", f.name]), 2)
            self.assertEqual(raftq_check.main(["x"]), 2)
            self.assertEqual(raftq_check.main(["x", "/nonexistent"]), 2)
        finally:
            sys.stdout = sys.__stdout__
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
