#!/usr/bin/env python3
"""Pass/fail and figures of one fault of `make test-faults` (Tools/faults/test-faults.sh).

`fault` reads what one run left (the load's per-request timeline and JSON report, its ack
journal, `movr load verify` / `movr check` exit statuses, the rides the database holds, the
executables' logs) and prints one JSON line; `line` prints the verdict of the last line and
exits 1 if it failed; `table` prints every run as a Markdown table (docs/reliability.md).
"""
import argparse, datetime, json, os, re, sys

# Operations whose requests need the faulted part (the whole mix for the gateway, the database
# and the proxies between executables).
AFFECTED = {
    "users": {"users.me"},
    "vehicles": {"vehicles.list", "vehicles.get"},
    "rides": {"rides.start", "rides.end", "rides.update_location", "rides.list"},
}


def retryable(kind):
    """An answer the API marks retryable: 503 unavailable or overloaded, 504 deadline, 429
    throttled (the client's own transport failures are reported as 503 upstream_unavailable)."""
    return kind.split("_")[0] in ("503", "504", "429")


# A write whose first attempt committed but was not acknowledged (its client got a 503/504)
# leaves the worker's idea of its rider stale: the next rides.update_location or rides.end of
# that ride finds it ended, the next rides.start of that rider finds the ride active. The worker
# then lists the rider's rides before using that ride again, so at most one conflict per such
# failure. A request reported `503 not_sent` never left the client and explains none.
AFTERMATH = ("409_ride_already_ended", "409_active_ride_exists")


def read_timeline(path):
    rows = []
    with open(path) as lines:
        for line in lines:
            parts = line.split()
            # Then the gateway's Server-Timing fields, when it sent them.
            if len(parts) >= 4:
                rows.append((float(parts[0]), float(parts[1]), parts[2], parts[3]))
    return rows


def drained(logs, region, target, since):
    """The first `drained` line (RPCServer.shutdownGracefully) the SIGTERMed executable wrote
    at or after `since` (Unix time; log times have whole seconds)."""
    path = os.path.join(logs, "%s-%s.log" % (region, target))
    found = None
    with open(path, errors="replace") as log:
        for line in log:
            if "drained" in line and found is None:
                stamp = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S%z").timestamp()
                if stamp < int(since):
                    continue
                at_stop = re.search(r"connections_at_stop[=:\"\s]+(\d+)", line)
                cut = re.search(r"connections_cut_off[=:\"\s]+(\d+)", line)
                if at_stop and cut:
                    found = (int(at_stop.group(1)), int(cut.group(1)))
    return found


def fault(args):
    result = {"name": args.name, "action": args.action, "fault_at": args.fault_at, "failures": []}
    fail = result["failures"].append
    if args.action.startswith("FAILED"):
        fail("the fault could not be injected: " + args.action)
    if args.load_status != 0:
        fail("movr load run exited with %d" % args.load_status)
    rows = read_timeline(os.path.join(args.dir, "timeline")) if os.path.exists(os.path.join(args.dir, "timeline")) else []
    result["requests"] = len(rows)
    errors = [r for r in rows if r[3].startswith("error:")]
    result["errors"] = len(errors)
    kinds = {}
    for r in errors:
        key = "%s %s" % (r[2], r[3][len("error:"):])
        kinds[key] = kinds.get(key, 0) + 1
    result["error_kinds"] = kinds
    bad = sorted(k for k in kinds if not retryable(k.split(" ", 1)[1]) and k.split(" ", 1)[1] not in AFTERMATH)
    if bad:
        fail("clients saw errors that are not retryable: " + ", ".join(bad))
    unacknowledged = sum(n for k, n in kinds.items()
                         if k.split(" ")[0] in ("rides.start", "rides.end") and retryable(k.split(" ", 1)[1])
                         and k.split(" ", 1)[1] != "503_not_sent")
    aftermath = sum(n for k, n in kinds.items() if k.split(" ", 1)[1] in AFTERMATH)
    if aftermath > unacknowledged:
        fail("%d conflicts (%s) but only %d unacknowledged ride writes could explain them"
             % (aftermath, " / ".join(AFTERMATH), unacknowledged))
    if not rows:
        fail("no requests on the timeline")
    # Recovery: the first success of an affected operation among requests sent once the fault
    # was complete (a kill sent, pg_ctl restart returned, the resets done), from the fault's start.
    affected = AFFECTED.get(args.target)
    mine = [r for r in rows if affected is None or r[2] in affected]
    after = [r for r in mine if r[0] >= args.fault_done and r[3] == "ok"]
    result["fault_seconds"] = round(args.fault_done - args.fault_at, 3)
    result["first_success_s"] = round(min(r[1] for r in after) - args.fault_at, 3) if after else None
    late_errors = [r for r in errors if r[1] >= args.fault_at]
    result["last_error_s"] = round(max(r[1] for r in late_errors) - args.fault_at, 3) if late_errors else None
    result["errors_before_fault"] = len(errors) - len(late_errors)
    if result["first_success_s"] is None:
        fail("no affected request (%s) succeeded after the fault" % ", ".join(sorted(affected or ["any"])))
    elif result["first_success_s"] > args.bound:
        fail("first success %.2f s after the fault (bound %g s)" % (result["first_success_s"], args.bound))
    if result["last_error_s"] is not None and result["last_error_s"] > args.bound:
        fail("clients still saw errors %.2f s after the fault (bound %g s)" % (result["last_error_s"], args.bound))
    # Acknowledged writes and duplicates.
    acks = {}
    path = os.path.join(args.dir, "acks.log")
    if os.path.exists(path):
        for line in open(path):
            kind, _, ident = line.strip().partition(" ")
            acks.setdefault(kind, []).append(ident)
    started = acks.get("ride_started", [])
    result["rides_acknowledged"] = len(started)
    result["rides_ended_acknowledged"] = len(acks.get("ride_ended", []))
    if len(set(started)) != len(started):
        fail("a ride was acknowledged twice as started")
    start_requests = sum(1 for r in rows if r[2] == "rides.start")
    result["start_requests"] = start_requests
    try:
        created = int(args.rides_created)
    except ValueError:
        created = None
        fail("could not count the rides in the database")
    result["rides_created"] = created
    if created is not None:
        # Each rides.start (with its key, however often the transport retried it) creates at
        # most one ride; every acknowledged one exists.
        if created > start_requests:
            fail("%d rides created by %d rides.start requests: a retry created a duplicate" % (created, start_requests))
        if created < len(started):
            fail("%d rides in the database, %d acknowledged" % (created, len(started)))
    result["verify"] = open(os.path.join(args.dir, "verify.txt")).read().strip().splitlines()[:1]
    if args.verify_status != 0:
        fail("movr load verify: an acknowledged write is missing (exit %d)" % args.verify_status)
    check_lines = open(os.path.join(args.dir, "check.txt")).read().strip().splitlines()
    result["check"] = "clean" if args.check_status == 0 else "exit %d" % args.check_status
    result["check_pending"] = sum(1 for l in check_lines if l.startswith("pending"))
    if args.check_status != 0:
        fail("movr check: " + " / ".join(check_lines[-4:]))
    if args.kind == "term":
        # Accepted requests complete: the server cut off none at its grace deadline, and a
        # client of the gateway saw no failure except requests never sent (refused while it
        # was down: the load reports those as `503 not_sent`).
        found = drained(args.logs, args.region, args.target, args.fault_at)
        result["drained"] = found
        if found is None:
            fail("no `drained` line in %s-%s.log: the shutdown did not finish its drain" % (args.region, args.target))
        elif found[1] != 0:
            fail("%d connections with a request in flight were cut off at the grace deadline" % found[1])
        if args.target == "gateway":
            # HTTP/1.1's keep-alive race (RFC 9112 §9.3.1): a request written on an idle
            # connection just as the draining server closes it was never read, so it was not
            # accepted; its client's retry then finds the listener closed. At most one such
            # request per connection open at the stop, sent after the signal (it was idle then). Any other
            # failure of a request that reached the gateway fails the fault.
            sent = [r for r in errors if r[3] != "error:503_not_sent"]
            racing = [r for r in sent if r[3] == "error:503_upstream_unavailable"
                      and args.fault_at - 0.05 <= r[0] <= args.fault_done + 0.5]
            result["keep_alive_races"] = len(racing)
            other = sorted({"%s %s" % (r[2], r[3][len("error:"):]) for r in sent if r not in racing})
            if other:
                fail("requests the draining gateway had accepted failed: " + ", ".join(other))
            if found is not None and len(racing) > found[0]:
                fail("%d requests lost at the stop, more than the %d connections open then" % (len(racing), found[0]))
    result["passed"] = not result["failures"]
    print(json.dumps(result))


def results(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def line(args):
    r = results(args.results)[-1]
    print("   %s: %d requests, %d errors, first success %s s, last error %s s, check %s -> %s" % (
        r["name"], r.get("requests", 0), r.get("errors", 0), r.get("first_success_s"), r.get("last_error_s"),
        r.get("check"), "passed" if r["passed"] else "FAILED: " + "; ".join(r["failures"])))
    sys.exit(0 if r["passed"] else 1)


def table(args):
    rows = results(args.results)
    print("| fault | requests | client errors (kinds) | first success after fault | last error after fault "
          "| rides started: acknowledged / created / requests | acked lost | `movr check` | drain | result |")
    print("|---|---:|---|---:|---:|---|---|---|---|---|")
    for r in rows:
        kinds = ", ".join("%s ×%d" % (k.replace("_", " "), n) for k, n in sorted(r.get("error_kinds", {}).items())) or "—"
        drain = "—"
        if r.get("drained"):
            drain = "%d open, %d cut off" % tuple(r["drained"])
        fs = "%.2f s" % r["first_success_s"] if r.get("first_success_s") is not None else "none"
        le = "%.2f s" % r["last_error_s"] if r.get("last_error_s") is not None else "—"
        lost = "0" if not any("missing" in f or "verify" in f for f in r["failures"]) else "LOST"
        print("| %s | %d | %d (%s) | %s | %s | %s / %s / %s | %s | %s | %s | %s |" % (
            r["name"], r.get("requests", 0), r.get("errors", 0), kinds, fs, le, r.get("rides_acknowledged"),
            r.get("rides_created"), r.get("start_requests"), lost, r.get("check"), drain,
            "pass" if r["passed"] else "**FAIL**: " + "; ".join(r["failures"])))
    passed = sum(1 for r in rows if r["passed"])
    print("\n%d of %d faults passed (recovery bound %g s)" % (passed, len(rows), args.bound))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fault")
    for name in ("name", "kind", "target", "dir", "action", "rides-created", "logs", "region"):
        f.add_argument("--" + name, required=True)
    for name in ("fault-at", "fault-done", "bound"):
        f.add_argument("--" + name, type=float, required=True)
    for name in ("load-status", "verify-status", "check-status"):
        f.add_argument("--" + name, type=int, required=True)
    l = sub.add_parser("line")
    l.add_argument("results")
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--bound", type=float, default=10)
    args = parser.parse_args()
    {"fault": fault, "line": line, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
