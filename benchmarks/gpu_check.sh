#!/usr/bin/env bash
# The one-shot GPU check (benchmarks/gpu_check.py): one table, exit status 1 on any failed row.
#   bash benchmarks/gpu_check.sh            # on a lent GPU: < 8 minutes
#   bash benchmarks/gpu_check.sh --quick    # tiny sizes (what the CPU test runs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${PYTHON:-python}" "$here/gpu_check.py" "$@"
