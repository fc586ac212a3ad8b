"""Write passgate's table of confusable characters from Unicode's ``confusables.txt`` (UTS #39).

    python scripts/confusables.py path/to/confusables.txt

It keeps each line's source and prototype (hex code points) and the file's version and date, in
``src/passgate/identity/confusables.txt``, which :func:`passgate.identity.names.username_skeleton`
reads.  The file comes from https://www.unicode.org/Public/security/latest/confusables.txt.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "passgate" / "identity" / "confusables.txt"
LINE = re.compile(r"^([0-9A-F]{4,6})\s*;\s*([0-9A-F ]+?)\s*;\s*MA\b")


def main(source: Path) -> None:
    text = source.read_text(encoding="utf-8-sig")
    version = re.search(r"^# Version: (\S+)", text, re.M)
    date = re.search(r"^# Date: (.+)$", text, re.M)
    rows = [f"{m[1]}\t{m[2]}" for m in map(LINE.match, text.splitlines()) if m]
    header = [
        f"# UTS #39 confusables, Unicode {version[1] if version else '?'} ({date[1] if date else '?'}):",
        "# source code point, then its prototype. Written by scripts/confusables.py from Unicode's",
        "# confusables.txt, (c) Unicode, Inc., under the Unicode License (https://www.unicode.org/license.txt).",
    ]
    OUT.write_text("\n".join(header + rows) + "\n", encoding="ascii")
    print(f"{len(rows)} mappings -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
