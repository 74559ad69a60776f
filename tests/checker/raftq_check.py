#!/usr/bin/env python3
"""raftq_check — checks a history of raftq client operations.

    raftq_check.py [--allow CLASS]... HISTORY.jsonl
                                     # prints each anomaly, then a summary

A history is JSON lines, one event per line (docs/reliability.md):

    {"process": "p1", "type": "invoke"|"ok"|"fail"|"info", "f": F,
     "time": NANOSECONDS, "node": "127.0.0.1:9101", "value": {...}}

A process does one operation at a time: its invoke is completed by its
next ok (it happened), fail (it certainly did not) or info (unknown). The
operations F and what their values hold:

    produce   ok: id, topic, broker, queue, offset (where it was stored)
    consume   ok: group, member, session, deliveries: [{topic, broker,
              queue, offset, epoch, id}] (in delivery order)
    commit    ok/info: group, topic, epoch, offsets: [{broker, queue,
              offset}]
    reset     ok/info: group, topics: [{topic, epoch, queues: [{broker,
              queue, offset (null: back to none)}]}]
    read      ok: group, topic, offsets: [{broker, queue, offset|null}]
    fetch     ok: group, topic, broker, queue, epoch, offset (a raw FETCH
              under that epoch that the broker served; fail: refused)
    drain     ok: topic, broker, queue, min_offset, messages: [[offset, id]]
              (everything the queue holds at the end)
    history   ok: group, topic, resets: [{requester, topic, epoch, queues:
              [{broker, queue, offset}]}] (the cluster's reset history at
              the end, read once nothing is in flight)

A reset may carry a unique "requester". One whose answer never came (info)
is settled by a history of its group: found there, it is a write of the
offsets recorded (completed at an unknown time); absent, it never
happened (fail). Unsettled, it may have written anything after it began.

Checks (DESIGN.md §8): per offset key (group, topic, broker, queue) a
read never returns a value older than a completed write, nor one never
written; per queue: lost acknowledged write, duplicate (one id at two
offsets), reordering (one process's sequential produces out of order),
nonmonotonic poll (a member session going back within one epoch),
delivery below a completed reset (client/include/raftq.h: after a reset
returned no consumer delivers from before its point), stale commit
accepted after a reset, stale fetch served after a reset (a broker must
answer OFFSET_MOVED to an epoch a returned reset ended). --allow CLASS reports that class as allowed
(printed, not counted): a producer that may store a batch twice makes
"duplicate" allowed. Exit status: 0 without anomalies, 1 with, 2 for a
history that cannot be read or bad usage.
"""
import bisect
import json
import sys
from collections import defaultdict, namedtuple

# One delivery of a consume operation, kept small: a long run has
# millions of them.
Delivery = namedtuple("Delivery", "topic broker queue offset epoch id")


class Op:
    """A completed operation: when it was invoked and completed, and what
    its completion (or else its invoke) said."""

    __slots__ = ("process", "f", "type", "start", "end", "value", "node")

    def __init__(self, invoke, done):
        self.process = done["process"]
        self.f = done["f"]
        self.type = done["type"]
        self.start = invoke["time"] if invoke else done["time"]
        self.end = done["time"]
        self.node = done.get("node")
        self.value = done.get("value") or (invoke or {}).get("value") or {}
        if self.f == "consume" and "deliveries" in self.value:
            self.value["deliveries"] = [
                Delivery(d["topic"], d["broker"], d["queue"], d["offset"],
                         d.get("epoch"), d.get("id"))
                for d in self.value["deliveries"]]

    def __repr__(self):
        v = dict(self.value)
        if "deliveries" in v:
            v["deliveries"] = [d._asdict() for d in v["deliveries"]]
        return json.dumps({"process": self.process, "f": self.f,
                           "type": self.type, "start": self.start,
                           "end": self.end, "node": self.node, "value": v},
                          sort_keys=True)


def read_history(lines):
    """Pairs invokes with completions; returns the completed ops."""
    pending, ops = {}, []
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            e = json.loads(line)
            kind, proc = e["type"], e["process"]
            e["time"], e["f"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError("line %d: %s" % (no, err)) from err
        if kind == "invoke":
            pending[proc] = e
        elif kind in ("ok", "fail", "info"):
            ops.append(Op(pending.pop(proc, None), e))
        else:
            raise ValueError("line %d: unknown type %r" % (no, kind))
    return ops


class Report:
    def __init__(self, out, allow=()):
        self.out, self.count, self.allow = out, 0, set(allow)
        self.allowed = defaultdict(int)

    def anomaly(self, kind, why, *ops):
        if kind in self.allow:
            self.allowed[kind] += 1
            print("ALLOWED %s: %s" % (kind, why), file=self.out)
            return
        self.count += 1
        print("ANOMALY %s: %s" % (kind, why), file=self.out)
        for op in ops:
            print("  op: %r" % (op,), file=self.out)


def qkey(v, topic=None):
    if isinstance(v, Delivery):
        return (v.topic, v.broker, v.queue)
    return (topic or v["topic"], v["broker"], v["queue"])


# ---- Queues: produces, drains ----

def check_drains(ops, rep):
    """Lost acknowledged writes and duplicates, against the final drains."""
    drained = {}
    for op in ops:
        if op.f == "drain" and op.type == "ok":
            v = op.value
            drained[qkey(v)] = (op, v.get("min_offset", 0),
                                {o: i for o, i in v["messages"]})
            seen = defaultdict(list)
            for off, mid in v["messages"]:
                seen[mid].append(off)
            for mid, offs in seen.items():
                if len(offs) > 1:
                    rep.anomaly("duplicate", "message %s at offsets %s of %s"
                                % (mid, offs, qkey(v)), op)
    for op in ops:
        if op.f != "produce" or op.type != "ok":
            continue
        v = op.value
        got = drained.get(qkey(v))
        if got is None or v["offset"] < got[1]:
            continue  # not drained, or retention took it
        dop, _, at = got
        if at.get(v["offset"]) != v["id"]:
            where = [o for o, i in at.items() if i == v["id"]]
            kind = "duplicate" if where else "lost-write"
            rep.anomaly(kind, "acknowledged %s at offset %d of %s; the queue "
                        "holds %s there%s" % (v["id"], v["offset"], qkey(v),
                                              at.get(v["offset"]),
                                              " and it at %s" % where
                                              if where else ""), op, dop)


def check_produce_order(ops, rep):
    """One process's produces to a queue, one after the other, must land
    in that order."""
    last = {}
    for op in sorted((o for o in ops if o.f == "produce" and o.type == "ok"),
                     key=lambda o: o.start):
        k = (op.value.get("producer", op.process), qkey(op.value))
        prev = last.get(k)
        if prev is not None and prev.end < op.start and \
                prev.value["offset"] >= op.value["offset"]:
            rep.anomaly("reordering", "%s produced %s then %s, stored at %d "
                        "then %d" % (k[0], prev.value["id"],
                                     op.value["id"], prev.value["offset"],
                                     op.value["offset"]), prev, op)
        last[k] = op


# ---- Queues: deliveries ----

def check_sessions(ops, rep):
    """Within a member session and an epoch, a queue's deliveries only go
    forward — unless the queue left the member in between (raftq.h: a
    rebalance may deliver again from the committed offset). It left when
    an "assigned" list (the member's queues, logged when they change)
    lacks it, or when another member or session delivered it meanwhile
    (a loss and return within one consume call shows no list)."""
    last, owned, suspects = {}, {}, []
    for op in sorted((o for o in ops if o.f == "consume" and o.type == "ok"),
                     key=lambda o: o.start):
        v = op.value
        who = (v["group"], v["member"], v.get("session"))
        for d in v.get("deliveries", []):
            k = who + (qkey(d),)
            prev = last.get(k)
            if prev is not None and d.epoch == prev[0].epoch and \
                    d.offset <= prev[0].offset:
                suspects.append((d, prev, op))
            last[k] = (d, op)
        if "assigned" in v:
            now = {qkey(q) for q in v["assigned"]}
            for q in owned.get(who, set()) - now:
                last.pop(who + (q,), None)
            owned[who] = now
    others = deliveries_of(ops, {(o.value["group"], qkey(d))
                                 for d, _, o in suspects})
    for d, prev, op in suspects:
        if not delivered_by_other(others, d, prev[1], op):
            rep.anomaly("nonmonotonic-poll", "member %s delivered %s "
                        "offset %d after %d in epoch %s" % (
                            op.value["member"], qkey(d), d.offset,
                            prev[0].offset, d.epoch), prev[1], op)


def deliveries_of(ops, keys):
    """(group, queue key) in @keys -> ([(start, end, member, session)] by
    start, [their starts], the longest duration): the consume operations
    that delivered from it."""
    out = defaultdict(list)
    if not keys:
        return out
    for o in ops:
        if o.f != "consume" or o.type != "ok":
            continue
        w = o.value
        for q in {qkey(x) for x in w.get("deliveries", [])}:
            if (w["group"], q) in keys:
                out[(w["group"], q)].append(
                    (o.start, o.end, w["member"], w.get("session")))
    for k, v in out.items():
        v.sort()
        out[k] = (v, [e[0] for e in v], max(e[1] - e[0] for e in v))
    return out


def delivered_by_other(others, d, first, op):
    """Whether another member or session delivered @d's queue between
    @first and @op (only the operations that can overlap are looked at)."""
    v = op.value
    me = (v["member"], v.get("session"))
    entries, starts, longest = others[(v["group"], qkey(d))]
    lo = bisect.bisect_left(starts, first.start - longest)
    hi = bisect.bisect_right(starts, op.end)
    return any(e >= first.start and (m, sess) != me
               for _, e, m, sess in entries[lo:hi])


def reset_points(ops):
    """(group, queue key) -> [(reset op, new offset or None, epoch)]."""
    pts = defaultdict(list)
    for op in ops:
        if op.f != "reset" or op.type not in ("ok", "info"):
            continue
        for t in op.value.get("topics", []):
            for q in t["queues"]:
                pts[(op.value["group"], qkey(q, t["topic"]))].append(
                    (op, q["offset"], t["epoch"]))
    return pts


def unknown_resets(ops):
    """Group -> start times of resets whose outcome is unknown (info
    without the queues they moved): they may have moved anything."""
    u = defaultdict(list)
    for op in ops:
        if op.f == "reset" and op.type == "info" and \
                not op.value.get("topics"):
            u[op.value.get("group")].append(op.start)
    return u


def last_reset_before(pts, t):
    """Of @pts (completed resets with a new offset, by end time, and their
    end times), the one that ended last before @t, or None."""
    resets, ends = pts
    i = bisect.bisect_left(ends, t)
    return resets[i - 1] if i > 0 else None


def completed_points(pts):
    """Per key: the ok resets with a new offset, sorted by end time."""
    out = {}
    for k, rs in pts.items():
        done = sorted((r for r in rs if r[0].type == "ok" and
                       r[1] is not None), key=lambda r: r[0].end)
        out[k] = (done, [r[0].end for r in done])
    return out


def by_start(pts):
    """Per key: the resets sorted by start, their starts, and the longest
    one's duration (so those overlapping a span are found by bisection)."""
    out = {}
    for k, rs in pts.items():
        rs = sorted(rs, key=lambda r: r[0].start)
        out[k] = (rs, [r[0].start for r in rs],
                  max(r[0].end - r[0].start for r in rs))
    return out


def explained(d, op, last, resets, unknown):
    """Whether a reset other than @last — concurrent with or after it,
    begun before @op ended, to at most @d's offset — or a reset of
    unknown outcome (@unknown: sorted starts) begun after @last explains
    delivery @d. @resets: the key's resets as by_start gives them."""
    rs, starts, longest = resets
    lo = bisect.bisect_left(starts, last[0].start - longest)
    hi = bisect.bisect_left(starts, op.end)
    if any(r[0] is not last[0] and r[0].end > last[0].start and
           (r[1] is None or r[1] <= d.offset) for r in rs[lo:hi]):
        return True
    i = bisect.bisect_right(unknown, last[0].start)
    return i < len(unknown) and unknown[i] < op.end


def check_below_reset(ops, rep):
    """After a reset returned, no delivery from before its point — unless
    a later or concurrent reset (or one of unknown outcome) explains it."""
    pts, unknown = reset_points(ops), unknown_resets(ops)
    done, starts = completed_points(pts), by_start(pts)
    for g in unknown:
        unknown[g].sort()
    for op in ops:
        if op.f != "consume" or op.type != "ok":
            continue
        g = op.value["group"]
        for d in op.value.get("deliveries", []):
            k = (g, qkey(d))
            last = last_reset_before(done[k], op.start) if k in done \
                else None
            if last is None or d.offset >= last[1] or \
                    explained(d, op, last, starts[k], unknown.get(g, [])):
                continue
            rep.anomaly("poll-below-reset", "%s delivered offset %d of %s "
                        "after a reset to %d had returned" % (
                            op.value["member"], d.offset, qkey(d), last[1]),
                        last[0], op)


def reset_epochs(ops):
    """(group, topic) -> [(ok reset op, the epoch it began)]."""
    ends = defaultdict(list)
    for op in ops:
        if op.f == "reset" and op.type == "ok":
            for t in op.value.get("topics", []):
                ends[(op.value["group"], t["topic"])].append((op, t["epoch"]))
    return ends


def stale_under(ops, f, ends):
    """Yields (op, reset, epoch): an ok operation @f under an epoch that a
    reset which returned before it began had ended."""
    for op in ops:
        if op.f != f or op.type != "ok":
            continue
        v = op.value
        for r, epoch in ends.get((v["group"], v["topic"]), []):
            if r.end < op.start and v["epoch"] < epoch:
                yield op, r, epoch
                break


def check_stale_commits(ops, rep):
    """A commit under an epoch a completed reset ended must be refused."""
    for op, r, epoch in stale_under(ops, "commit", reset_epochs(ops)):
        rep.anomaly("stale-commit", "commit under epoch %d accepted "
                    "after a reset to epoch %d had returned" % (
                        op.value["epoch"], epoch), r, op)


def check_stale_fetches(ops, rep):
    """A broker must refuse (OFFSET_MOVED) a fetch under an epoch a
    completed reset ended (issue 10 #2: it must know it is behind)."""
    for op, r, epoch in stale_under(ops, "fetch", reset_epochs(ops)):
        v = op.value
        rep.anomaly("stale-fetch", "fetch of %s/%s/%d under epoch %d "
                    "served after a reset to epoch %d had returned" % (
                        v["topic"], v["broker"], v["queue"], v["epoch"],
                        epoch), r, op)


# ---- Offsets: a register per (group, topic, broker, queue) ----

def offset_writes(ops):
    """Key -> [(op, value)] for commits and resets that may have
    happened (ok or info)."""
    w = defaultdict(list)
    for op in ops:
        if op.type == "fail":
            continue
        v = op.value
        if op.f == "commit":
            for q in v.get("offsets", []):
                w[(v["group"],) + qkey(q, v["topic"])].append(
                    (op, q["offset"]))
        elif op.f == "reset":
            for t in v.get("topics", []):
                for q in t["queues"]:
                    w[(v["group"],) + qkey(q, t["topic"])].append(
                        (op, q["offset"]))
    return w


INF = float("inf")


class Register:
    """The writes of one offset key, indexed so each read is checked in
    logarithmic time: per value, the writes by start with the latest end
    so far (an unknown-outcome write never ended); all completed writes
    by start."""

    def __init__(self, writes):
        by_value = defaultdict(list)
        for op, x in writes:
            by_value[x].append((op.start, op.end if op.type == "ok" else INF))
        self.values = {}
        for x, ws in by_value.items():
            ws.sort()
            ends, top = [], -INF
            for _, e in ws:
                top = max(top, e)
                ends.append(top)
            self.values[x] = ([s for s, _ in ws], ends)
        self.ok = sorted((op.start, op.end, x) for op, x in writes
                         if op.type == "ok")
        self.ok_starts = [w[0] for w in self.ok]

    def latest_end(self, read, value):
        """The latest end of a write of @value begun before @read ended
        (-1 for the initial "none"), or None when there is no such."""
        best = -1 if value is None else None
        if value in self.values:
            starts, ends = self.values[value]
            i = bisect.bisect_left(starts, read.end)
            if i > 0:
                best = ends[i - 1] if best is None else max(best, ends[i - 1])
        return best

    def replaced(self, read, value, after):
        """Whether a completed write of another value began after @after
        and ended before @read began."""
        j = bisect.bisect_right(self.ok_starts, after)
        for s, e, x in self.ok[j:]:
            if s >= read.start:
                return False
            if e < read.start and x != value:
                return True
        return False


def read_ok(read, value, reg, unknown=()):
    """Whether @read may return @value: some write of it (or the initial
    none) that began before the read ended and that no write of another
    value strictly between it and the read replaced. A write of unknown
    value (@unknown: start times) that began before the read ended may
    have written anything."""
    if any(s < read.end for s in unknown):
        return True
    best = reg.latest_end(read, value)
    if best is None:
        return False
    return best >= read.start or not reg.replaced(read, value, best)


def check_reads(ops, rep):
    writes, unknown = offset_writes(ops), unknown_resets(ops)
    regs = {k: Register(w) for k, w in writes.items()}
    empty = Register([])
    for op in ops:
        if op.f != "read" or op.type != "ok":
            continue
        v = op.value
        for q in v.get("offsets", []):
            k = (v["group"],) + qkey(q, v["topic"])
            if not read_ok(op, q["offset"], regs.get(k, empty),
                           unknown.get(v["group"], [])):
                proof = [w for w, x in writes.get(k, []) if w.type == "ok"
                         and w.end < op.start][-3:]
                rep.anomaly("stale-read", "read %s of %s: older than a "
                            "completed write, or never written" % (
                                q["offset"], k), op, *proof)


CHECKS = (check_drains, check_produce_order, check_sessions,
          check_below_reset, check_stale_commits, check_stale_fetches,
          check_reads)


def settle_unknown_resets(ops):
    """Resets of unknown outcome that a history of their group settles:
    found there, they get the topics it recorded (still info: completed
    at an unknown time); absent, they become fail."""
    found, read = defaultdict(list), set()
    for op in ops:
        if op.f == "history" and op.type == "ok":
            read.add(op.value["group"])
            for r in op.value.get("resets", []):
                found[(op.value["group"], r["requester"])].append(r)
    for op in ops:
        v = op.value
        if op.f != "reset" or op.type != "info" or v.get("topics") or \
                "requester" not in v or v.get("group") not in read:
            continue
        recs = found.get((v["group"], v["requester"]))
        if not recs:
            op.type = "fail"
            continue
        v["topics"] = [{"topic": r["topic"], "epoch": r["epoch"],
                        "queues": r["queues"]} for r in recs]


def check(lines, out=sys.stdout, allow=()):
    """Checks a history; returns (operations, anomalies)."""
    ops = read_history(lines)
    settle_unknown_resets(ops)
    rep = Report(out, allow)
    for c in CHECKS:
        c(ops, rep)
    extra = "".join(" (%d allowed: %s)" % (n, k)
                    for k, n in sorted(rep.allowed.items()))
    print("%d operations, %d anomalies%s" % (len(ops), rep.count, extra),
          file=out)
    return len(ops), rep.count


CLASSES = ("lost-write", "duplicate", "reordering", "nonmonotonic-poll",
           "poll-below-reset", "stale-commit", "stale-fetch", "stale-read")


def main(argv):
    args, allow = argv[1:], []
    while len(args) >= 2 and args[0] == "--allow" and args[1] in CLASSES:
        allow.append(args[1])
        args = args[2:]
    if len(args) != 1:
        print("usage: raftq_check.py [--allow CLASS]... HISTORY.jsonl\n"
              "CLASS: %s" % " ".join(CLASSES), file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as f:
            _, bad = check(f, allow=allow)
    except (OSError, ValueError) as err:
        print("raftq_check: %s: %s" % (args[0], err), file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
