"""Infra tests run only in .venv-infra (make test-infra sets INFRA_TESTS=1).

The app's own pytest run (.venv, `pytest` over tests/) does not have pycep or checkov, so there
these files are not collected at all, instead of failing or passing vacuously; the lead's run
also passes --ignore=tests/infra. Under INFRA_TESTS=1 a missing tool is a hard error.

checkov 3.x pins pycep-parser 0.5.1, whose grammar predates `extension`; the current
pycep-parser is installed beside it (infra/infra.mk: --target .venv-infra/pycep-current) and
put first on sys.path here, so every .bicep file, Graph modules included, must parse.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if os.environ.get("INFRA_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]
else:
    _repo = Path(__file__).resolve().parents[2]
    _pycep = Path(os.environ.get("PYCEP_PATH", _repo / ".venv-infra" / "pycep-current"))
    if not (_pycep / "pycep").is_dir():
        raise RuntimeError(f"current pycep-parser not found at {_pycep}: run `make test-infra`")
    sys.path.insert(0, str(_pycep))
