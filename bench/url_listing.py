"""What a many-file input at a URL costs: the listing, and reading its shards (docs/cloud.md).

    .venv-full/bin/python bench/url_listing.py   # the venv with the cloud and test-cloud extras

Starts moto's S3 server in a process of its own on loopback, puts `--objects` tiny
shards (2 rows each) under one prefix and `--read` of them under another, and runs
the installed `bce` (beside this python) under GNU time: a pattern that lists every
object of the big prefix and matches one (the listing alone), the folder of
`--read` shards read whole in one process and with `--workers 2`, and one object
alone for comparison. Prints wall seconds and peak RSS of each. Loopback S3 costs
no network time: a real store adds its round trips (one listing page per 1,000
objects, two requests a shard).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BCE = str(Path(sys.executable).parent / "bce")
BUCKET = "bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def measured(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """`bce compute ARGS` under GNU time: its stdout, and 'wall s peak KB'."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e s %M KB", BCE, "compute", *args],
                          capture_output=True, text=True, env=env, check=False)
    figures = done.stderr.strip().splitlines()[-1]
    if done.returncode != 0:
        raise SystemExit(f"{args}: {done.stderr}")
    return done.stdout.strip(), figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--read", type=int, default=500)
    options = parser.parse_args()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                               "127.0.0.1", "-p", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        import boto3

        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                "AWS_DEFAULT_REGION")})
        client = boto3.client("s3", endpoint_url=endpoint)
        for _ in range(100):
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:  # the server is starting
                time.sleep(0.1)
        keys = [f"big/part-{k:05d}.csv" for k in range(options.objects)] + \
            [f"read/part-{k:05d}.csv" for k in range(options.read)]
        began = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda key: client.put_object(
                Bucket=BUCKET, Key=key, Body=f"p,y\n0.{len(key) % 9 + 1},1\n0.3,0\n".encode()),
                keys))
        print(f"uploaded {len(keys)} objects in {time.perf_counter() - began:.0f} s")
        storage = ["--storage-option", f"endpoint_url={endpoint}", "-f", "plain"]
        runs = {
            "one object": [f"s3://{BUCKET}/big/part-00001.csv"],
            f"pattern listing {options.objects}, reading 1":
                [f"s3://{BUCKET}/big/*-00001.csv"],
            f"folder of {options.read} shards": [f"s3://{BUCKET}/read/"],
            f"folder of {options.read} shards, --workers 2":
                [f"s3://{BUCKET}/read/", "--workers", "2"],
        }
        for name, args in runs.items():
            loss, figures = measured(args + storage, env)
            print(f"{name:45} {figures:>20}   loss {loss}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
