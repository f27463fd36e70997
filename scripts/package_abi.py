"""Regenerate the packaged ModelRegistry build (ABI and bytecode) from contracts/.

Run it after changing a contract: `.venv/bin/python scripts/package_abi.py`. It compiles with the
project's pinned solc (needs `npm ci`) and rewrites registry/chain/compiled/ModelRegistry.json, which
tests/chain/test_packaged_abi.py checks against a fresh compile.
"""

from __future__ import annotations

import sys

from registry.chain.compiler import write_package_data
from registry.chain.errors import CompilationError


def main() -> int:
    try:
        path = write_package_data()
    except CompilationError as exc:
        print(f"package_abi: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
