"""A small bot that shows what bosun gives a Python bot.

It greets, looks at the files of its folder, reports progress (the `::status::` and
`::progress::` lines, which `bosun up` shows in `bosun ps`), and stops cleanly when
bosun stops it (bosun sends SIGINT first, which Python raises as KeyboardInterrupt).
Its one requirement, humanize, is installed into a cached environment on the first run.
"""

import argparse
import os
import sys
import time

import humanize


def main() -> int:
    parser = argparse.ArgumentParser(description="bosun's example bot")
    parser.add_argument("--name", default="world", help="who to greet")
    parser.add_argument("--steps", type=int, default=3, help="how many work steps to run")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds each step takes")
    parser.add_argument("--fail", action="store_true", help="exit with code 3 at the end")
    parser.add_argument("file", nargs="?", help="a file to look at (a file trigger passes one)")
    args = parser.parse_args()

    print(f"hello, {args.name}! running under {sys.executable}")
    if args.file:
        print(f"started for {args.file}: {humanize.naturalsize(os.path.getsize(args.file))}")
    files = [f for f in os.listdir(".") if os.path.isfile(f)]
    total = sum(os.path.getsize(f) for f in files)
    print(f"my folder holds {len(files)} files, {humanize.naturalsize(total)}")
    try:
        for step in range(1, args.steps + 1):
            print(f"step {step}/{args.steps}")
            print(f"::status:: working on step {step} of {args.steps}")
            print(f"::progress:: {step * 100 // args.steps}", flush=True)
            time.sleep(args.pause)
    except KeyboardInterrupt:
        print("asked to stop: cleaning up and leaving", file=sys.stderr)
        return 130
    if args.fail:
        print("failing on purpose (--fail)", file=sys.stderr)
        return 3
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
