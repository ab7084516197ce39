"""Every domain module, and the entry points above them, import on their own in a fresh
interpreter: an import cycle that only breaks for one import order (the CLI reaching the
recurrence package through the ERP store first) fails here, not in a user's shell."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import esexchange.domain

_CHECK = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.startswith("esexchange")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed.append(f"{name}: {error}")
print("\\n".join(failed))
"""


def test_each_module_imports_first() -> None:
    names = [m.name for m in pkgutil.walk_packages(esexchange.domain.__path__,
                                                   "esexchange.domain.")]
    names += ["esexchange.erp.store", "esexchange.engine",
              "esexchange.exchange.ews", "esexchange.cli"]
    result = subprocess.run([sys.executable, "-c", _CHECK, *names], capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == ""
