#!/usr/bin/env python3
"""Availability probe of one city through the load balancer (make test-compose).

Sends vehicles.list with X-City every --interval seconds until --until-file exists, and writes
one line per request to --out: "<unix time> <ok|error> <detail>". summarize() turns such a log and
the failure window into the figures docs/operations.md reports.
"""
import argparse, json, os, ssl, sys, time, urllib.request


def probe(url, ca, city, interval, out, until_file):
    context = ssl.create_default_context(cafile=ca)
    body = json.dumps({"jsonrpc": "2.0", "method": "vehicles.list", "params": {}, "id": 1}).encode()
    with open(out, "w", buffering=1) as log:
        while not os.path.exists(until_file):
            started = time.time()
            request = urllib.request.Request(url + "/rpc", data=body, headers={"content-type": "application/json", "x-city": city})
            try:
                with urllib.request.urlopen(request, timeout=10, context=context) as response:
                    answer = json.loads(response.read())
                    status = "ok" if "result" in answer else "error rpc:%s" % answer.get("error", {}).get("code")
            except Exception as error:  # any failure a client would see
                status = "error " + type(error).__name__ + ":" + str(error).replace(" ", "_")[:80]
            log.write("%.3f %.3f %s\n" % (started, time.time() - started, status))
            time.sleep(max(0.0, interval - (time.time() - started)))


def summarize(path, down_at, up_at, slow=1.0):
    """Figures of a region outage seen by one city's client: requests, failures, the longest
    answer, and how long after the region went down the last failed or slow (> `slow` s) answer
    ended (the city is served normally from then on)."""
    rows = []
    for line in open(path):
        parts = line.strip().split(" ", 2)
        if len(parts) == 3:
            rows.append((float(parts[0]), float(parts[1]), parts[2]))
    after = [(t, latency, status) for t, latency, status in rows if t + latency >= down_at]
    bad = [(t, latency) for t, latency, status in after if status != "ok" or latency > slow]
    return {
        "requests": len(rows),
        "failed": sum(1 for _, _, status in rows if status != "ok"),
        "failed_while_region_down": sum(1 for t, _, status in rows if down_at <= t < up_at and status != "ok"),
        "slow_answers": len(bad),
        "max_latency_s": round(max((latency for t, latency, _ in after if t < up_at), default=0.0), 2),
        "normal_again_after_s": round(max((t + latency for t, latency in bad), default=down_at) - down_at, 2),
        # The first request sent after the region stopped that was answered: the city is served again.
        "served_after_s": round(next((t + latency for t, latency, status in rows if t >= down_at and status == "ok"), up_at) - down_at, 2),
        "failures_at_s": [round(t - down_at, 2) for t, _, status in rows if status != "ok"],
        "error_kinds": sorted({status for _, _, status in rows if status != "ok"}),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--url", required=True); run.add_argument("--ca", required=True)
    run.add_argument("--city", required=True); run.add_argument("--interval", type=float, default=0.2)
    run.add_argument("--out", required=True); run.add_argument("--until-file", required=True)
    summary = sub.add_parser("summary")
    summary.add_argument("log"); summary.add_argument("--down-at", type=float, required=True)
    summary.add_argument("--up-at", type=float, required=True)
    arguments = parser.parse_args()
    if arguments.command == "run":
        probe(arguments.url, arguments.ca, arguments.city, arguments.interval, arguments.out, arguments.until_file)
    else:
        print(json.dumps(summarize(arguments.log, arguments.down_at, arguments.up_at)))
