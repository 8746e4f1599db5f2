#!/usr/bin/env python3
"""Load benchmark of `lmzip serve` (loopback only, bounded in time).

Starts the server on a free port, then N concurrent clients send a mix of the requests lm-evaluation-harness's
local-completions model sends, for S seconds:
  70 %  multiple-choice loglikelihood: one request, 4 prompts (a shared context of 150-300 tokens + an option of
        2-6 tokens), echo + logprobs 1 + max_tokens 1, as token ids
  20 %  rolling loglikelihood: one 512-token window, echo + logprobs 1 + max_tokens 1
  10 %  generation: a 64-token context, max_tokens 16, stop "\n"
and reports errors, scored prompt tokens/s (each option's positions counted, as lm-eval receives them) and the
rows the model computed per second (a shared context once), p50/p99 latency and the server's peak memory
(VmHWM), against the
scored tokens/s of `lmzip bpc --protocol lm-eval --window 512` (every token scored, disjoint windows) on the
same model and corpus, run first in the same invocation.

  python3 bench/serve_load.py --lmzip build/lmzip --model ../shared/zoo/models/zoo-m2.gguf \
      --corpus ../shared/zoo/corpora/cc.testA.jsonl --clients 16 --seconds 60 --threads 2

Standard library only. The request mix is seeded (--seed), so two runs send the same requests.
"""
import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import threading
import time


def post(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lmzip", default="build/lmzip")
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True, help="JSONL with a 'content' field: prompts are cut from it")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-batch-tokens", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    a = ap.parse_args()

    # The single-process rate on the same machine.
    bpc = subprocess.run([a.lmzip, "bpc", "--no-db", "--json", "-t", str(a.threads), "--protocol", "lm-eval",
                          "--window", "512", "-m", a.model, a.corpus], capture_output=True, text=True)
    if bpc.returncode != 0:
        sys.exit("lmzip bpc failed: " + bpc.stderr)
    bpc_rate = json.loads(bpc.stdout.splitlines()[0])["scored_tokens_per_s"]

    server = subprocess.Popen([a.lmzip, "serve", "-m", a.model, "--port", "0", "-t", str(a.threads),
                               "--max-batch-tokens", str(a.max_batch_tokens), "--max-queue", str(4 * a.clients)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    if not line.startswith("listening on http://"):
        server.kill()
        sys.exit("the server did not start: " + line)
    port = int(line.rsplit(":", 1)[1])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        texts = [json.loads(l)["content"] for l in open(a.corpus, encoding="utf-8") if l.strip()]
        tokens = []
        for t in texts[:200]:
            status, data = post(conn, "/tokenize", {"prompt": t, "add_special_tokens": False})
            tokens.extend(json.loads(data)["tokens"])
        if len(tokens) < 2048:
            sys.exit("the corpus is too short for the request mix")

        lock = threading.Lock()
        latencies, scored, rows, errors, counts = [], [0], [0], [0], {"mc": 0, "rolling": 0, "generate": 0}
        deadline = time.monotonic() + a.seconds

        def client(i):
            rng = random.Random(a.seed * 1000 + i)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            while time.monotonic() < deadline:
                kind = rng.choices(["mc", "rolling", "generate"], [70, 20, 10])[0]
                if kind == "mc":
                    n = rng.randint(150, 300)
                    at = rng.randrange(len(tokens) - n - 64)
                    ctx = tokens[at:at + n]
                    prompts = []
                    computed = n  # the shared context runs once (complete_packed), then each option's tokens
                    for _ in range(4):
                        o = rng.randrange(len(tokens) - 8)
                        prompts.append(ctx + tokens[o:o + rng.randint(2, 6)])
                        computed += len(prompts[-1]) - n
                    body = {"prompt": prompts, "echo": True, "logprobs": 1, "max_tokens": 1, "temperature": 0}
                elif kind == "rolling":
                    at = rng.randrange(len(tokens) - 512)
                    prompts = [tokens[at:at + 512]]
                    computed = 512
                    body = {"prompt": prompts[0], "echo": True, "logprobs": 1, "max_tokens": 1, "temperature": 0}
                else:
                    at = rng.randrange(len(tokens) - 64)
                    prompts = [tokens[at:at + 64]]
                    computed = 0
                    body = {"prompt": prompts[0], "max_tokens": 16, "stop": ["\n"], "temperature": 0}
                t0 = time.monotonic()
                try:
                    status, _ = post(c, "/v1/completions", body)
                except Exception:
                    status = -1
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                dt = time.monotonic() - t0
                with lock:
                    if status != 200:
                        errors[0] += 1
                    else:
                        latencies.append(dt)
                        counts[kind] += 1
                        if kind != "generate":
                            scored[0] += sum(len(p) - 1 for p in prompts)
                            rows[0] += computed

        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        peak_kb = 0
        with open(f"/proc/{server.pid}/status") as f:
            for l in f:
                if l.startswith("VmHWM:"):
                    peak_kb = int(l.split()[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # the first one idled past keep-alive
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
    finally:
        server.terminate()
        server.wait()

    def metric(name):
        for l in metrics.splitlines():
            if l.startswith(name + " "):
                return float(l.split()[1])
        return float("nan")

    lat = sorted(latencies)
    rate = scored[0] / wall
    summary = {
        "clients": a.clients, "seconds": round(wall, 1), "requests": len(lat), "errors": errors[0], "by_kind": counts,
        "scored_tokens_per_s": round(rate, 1), "bpc_scored_tokens_per_s": round(bpc_rate, 1),
        "ratio_to_bpc": round(rate / bpc_rate, 3),
        # What the model actually ran: a shared context once per question (scored tokens count it per option).
        "computed_rows_per_s": round(rows[0] / wall, 1), "computed_ratio_to_bpc": round(rows[0] / wall / bpc_rate, 3),
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "latency_p99_s": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 3) if lat else None,
        "server_peak_rss_mib": round(peak_kb / 1024, 1),
        "engine_passes": metric("lmzip_engine_passes_total"), "packed_prompts": metric("lmzip_packed_prompts_total"),
        "engine_busy_s": metric("lmzip_engine_busy_seconds_total"),
    }
    if a.json:
        print(json.dumps(summary))
    else:
        for k, v in summary.items():
            print(f"{k:>24}  {v}")


if __name__ == "__main__":
    main()
