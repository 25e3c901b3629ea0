"""`gitbrag-fake-github`: serve the fake GitHub in the foreground.

With no `--seed` it serves exactly the demo dataset that `gitbrag-refresh --demo`
publishes, so a person can point a client (or curl) at it and see the same data.
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from gitbrag.fakegithub.app import FakeConfig, create_app
from gitbrag.fakegithub.dataset import DEMO_SEED, POPULATIONS, DatasetSummary, build_dataset
from gitbrag.fakegithub.faults import FaultConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gitbrag-fake-github", description="Serve the fake GitHub.")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="dataset seed (default: the demo's)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every API response")
    parser.add_argument("--extra-users", type=int, default=0, help="extra generic users, for benchmarks")
    parser.add_argument(
        "--population",
        choices=POPULATIONS,
        default="default",
        help="`real` adds a GitHub-shaped crowd (giant repositories, 1,000 users) beside the demo users",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535 or args.latency_ms < 0 or args.extra_users < 0:
        parser.error("--port must be 0..65535; --latency-ms and --extra-users must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dataset = build_dataset(args.seed, extra_users=args.extra_users, population=args.population)
    config = FakeConfig(faults=FaultConfig(latency_ms=args.latency_ms))
    app = create_app(dataset, config)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto: see server.py
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(
            f"gitbrag-fake-github: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr
        )
        return 2
    port = sock.getsockname()[1]
    s = DatasetSummary.of(dataset)
    print(
        f"Fake GitHub at http://{args.host}:{port} "
        f"(seed {args.seed}: {s.users} accounts, {s.repos} repos, {s.pulls} PRs; "
        f"demo users: {', '.join(dataset.demo_users)})",
        flush=True,
    )
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    server.run(sockets=[sock])  # until Ctrl-C / SIGTERM, which uvicorn handles
    return 0


if __name__ == "__main__":
    sys.exit(main())
