#!/usr/bin/env python
"""A real-size X archive (2.1 GB: ~30 MB of data files, the rest random-byte media) as
`datadao contribute` prepares it: only the data files are read and re-zipped; prints the
time and the sizes.

    .venv/bin/python bench/large_archive.py [--tweets 110000] [--media-gb 2]

The web form does the same with zip.js in the browser; its figure comes from the
browser test (tests/browser, the 2 GB archive) and is recorded in bench/RESULTS.md."""

import argparse
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dao_service.client.contribute import export_data  # noqa: E402
from dao_service.stack.sample_exports import x_files, x_spec  # noqa: E402

MEDIA_FILE = 200 << 20
CHUNK = 8 << 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tweets", type=int, default=110_000)
    parser.add_argument("--media-gb", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        archive = Path(tmp) / "archive.zip"
        started = time.perf_counter()
        data = x_files(x_spec(seed=5, tweets=args.tweets))
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
            for name, value in data.items():
                out.writestr(name, value)
            for number in range(int(args.media_gb * 1e9) // MEDIA_FILE + 1):
                entry = zipfile.ZipInfo(f"data/tweets_media/{number:04d}.mp4")
                entry.compress_type = zipfile.ZIP_STORED
                with out.open(entry, "w") as media:
                    for _ in range(MEDIA_FILE // CHUNK):
                        media.write(os.urandom(CHUNK))
        made = time.perf_counter() - started
        started = time.perf_counter()
        sent = export_data(archive)
        took = time.perf_counter() - started
        print(
            f"archive: {archive.stat().st_size / 1e9:.2f} GB "
            f"({sum(map(len, data.values())) / 1e6:.1f} MB of data files; made in {made:.0f} s)"
        )
        print(f"export_data: {took:.2f} s -> {len(sent.plaintext) / 1e6:.1f} MB to encrypt and "
              f"upload ({sent.kept_files} of {sent.of_files} files)")  # fmt: skip


if __name__ == "__main__":
    main()
