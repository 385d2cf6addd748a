"""Helper process for the kill -9 test: appends batches forever, reporting each commit."""

from __future__ import annotations

import sys

from audit import MerkleLog

BATCH = 2000


def main() -> None:
    log = MerkleLog(sys.argv[1])
    while True:
        first = log.extend(b"leaf %d" % i for i in range(log.size, log.size + BATCH))
        print(first + BATCH, flush=True)


if __name__ == "__main__":
    main()
