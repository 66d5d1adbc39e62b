"""`make bench`: every benchmark once with its default sizes, one after the
other (they share the machine's two cores, so never in parallel). Each prints
its figures and writes bench/results/<name>.json; this prints which ran and
how long each took, and exits non-zero if one failed.

    python bench/run_all.py                 # all of them
    python bench/run_all.py webhooks export # some of them
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ["checkout", "webhooks", "documents", "export", "renewals", "dashboard", "pages"]


def main(argv: list[str]) -> int:
    wanted = argv or ORDER
    unknown = [name for name in wanted if not (BENCH / f"bench_{name}.py").exists()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(ORDER)}", file=sys.stderr)
        return 2
    results = []
    for name in wanted:
        print(f"\n=== bench_{name}.py ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(BENCH / f"bench_{name}.py")], cwd=BENCH.parent)
        results.append((name, code, time.monotonic() - started))
    print("\n=== summary ===")
    for name, code, seconds in results:
        print(f"bench_{name:<10} {'ok' if code == 0 else f'FAILED ({code})':<12} {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
