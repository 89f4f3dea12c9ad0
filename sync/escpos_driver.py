"""python-escpos's printer classes, loaded with its printer database cached in the device's data folder.

On first import python-escpos reads its printer-capabilities database (96 KB of YAML-read JSON) with
pure-Python PyYAML: 0.25–1 s of CPU. It caches the parsed result as a pickle, by default in a
new temporary directory per process, so every start of an app paid the parse again on its first
receipt or ticket, while the GUI thread competed with it for the interpreter, and left a 70 KB
pickle in /tmp. With the cache in the data folder (private to the app's user, like the
journal and keys beside it) the parse happens once per install; the services call ``load`` when
they open (on a worker thread), so no sale waits for it. (python-escpos 3.1 still makes an empty
temporary directory at import whatever the setting: its ``environ.get`` default is evaluated eagerly.)
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

CACHE_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def load(data_dir: Path) -> ModuleType:
    """``escpos.printer``. The first call in a process fixes the cache folder (python-escpos reads it once, at import);
    later calls, one per receipt, touch no files."""
    if CACHE_ENV not in os.environ:
        cache = Path(data_dir) / "cache" / "escpos"
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ[CACHE_ENV] = str(cache)
    from escpos import printer

    return printer
