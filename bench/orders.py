"""Market order round trips through the HTTP API on the paper venue (SQLite).

Starts `tradewind serve` in its own process on a fresh data directory, signs up, makes a trade
key, then sends market orders one after another over one keep-alive connection, timing each
from request to the filled answer. In the same run it times GET /healthz the same way, the
floor any endpoint pays (HTTP, framework, middleware), and prints both and their ratio; then
it measures throughput with several concurrent clients.

    .venv/bin/python bench/orders.py [--orders 2000] [--clients 4]

Targets (issue 3): p50 under 5 ms and p99 under 20 ms on a 2-core machine with SQLite.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_server(data_dir: Path, port: int, **settings: str) -> subprocess.Popen[bytes]:
    """`tradewind serve` on a fresh data directory; ``settings`` are extra TRADEWIND_* values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update(
        TRADEWIND_LOG_LEVEL="WARNING",
        TRADEWIND_RATE_LIMIT_PER_KEY="100000",
        TRADEWIND_RATE_LIMIT_PER_IP="100000",
        **settings,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def timed(client: httpx.Client, n: int, send: object) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = send(client)  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code >= 300:
            raise SystemExit(f"unexpected answer {r.status_code}: {r.text}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_server(Path(tmp) / "data", port)
        base = f"http://127.0.0.1:{port}"
        try:
            email, password = "bench@example.com", "round trips all day"
            httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": password})
            token = httpx.post(
                f"{base}/api/v1/auth/login", json={"email": email, "password": password}
            ).json()["access_token"]
            key = httpx.post(f"{base}/api/v1/api-keys", json={"name": "bench", "scope": "trade"},
                             headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
            headers = {"Authorization": f"Bearer {key['token']}"}
            account = httpx.get(f"{base}/api/v1/accounts", headers=headers).json()[0]["account_id"]
            url = f"/api/v1/accounts/{account}/orders"
            sides = itertools.cycle(["buy", "sell"])

            def order(c: httpx.Client) -> httpx.Response:
                return c.post(
                    url,
                    json={
                        "symbol": "BTC/USDT",
                        "side": next(sides),
                        "type": "market",
                        "amount": "0.003",  # over the 5 USDT minimum at any replayed price
                    },
                )

            with httpx.Client(base_url=base, headers=headers) as c:
                # A stock of BTC, so concurrent clients' sells never wait on their buys.
                stock = {"symbol": "BTC/USDT", "side": "buy", "type": "market", "amount": "0.2"}
                assert c.post(url, json=stock).status_code == 201
                timed(c, 100, order)  # warm-up
                timed(c, 100, lambda c: c.get("/healthz"))
                health = timed(c, args.orders, lambda c: c.get("/healthz"))
                orders = timed(c, args.orders, order)

            per_client = max(1, args.orders // args.clients)
            errors: list[BaseException] = []

            def worker() -> None:
                try:
                    with httpx.Client(base_url=base, headers=headers) as c:
                        timed(c, per_client, order)
                except BaseException as e:  # reported below
                    errors.append(e)

            threads = [threading.Thread(target=worker) for _ in range(args.clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            if errors:
                raise SystemExit(f"concurrent run failed: {errors[0]!r}")
            fills = httpx.get(f"{base}{url.replace('orders', 'fills')}?limit=1", headers=headers)
            assert fills.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    p50o, p99o = statistics.median(orders), percentile(orders, 0.99)
    p50h, p99h = statistics.median(health), percentile(health, 0.99)
    print(
        f"machine: {os.cpu_count()} cores; store: SQLite (WAL); {args.orders} sequential requests each"
    )
    print(
        f"GET /healthz            p50 {p50h:6.2f} ms   p99 {p99h:6.2f} ms   (floor: HTTP + framework + middleware)"
    )
    print(
        f"market order -> filled  p50 {p50o:6.2f} ms   p99 {p99o:6.2f} ms   ({1000 / statistics.mean(orders):.0f} orders/s on one connection)"
    )
    print(f"order / healthz ratio   p50 {p50o / p50h:4.1f}x  p99 {p99o / p99h:4.1f}x")
    print(f"{args.clients} concurrent clients  {per_client * args.clients / elapsed:.0f} orders/s")
    print(
        f"targets: p50 < 5 ms: {'met' if p50o < 5 else 'NOT met'}; p99 < 20 ms: {'met' if p99o < 20 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
