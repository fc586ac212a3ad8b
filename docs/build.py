"""Build the HTML docs: the API reference from the docstrings (pdoc) and the guides in ``docs/*.md``.

    python docs/build.py [OUTPUT_DIR]      # default: docs/_build; `make docs` runs this

Any warning (a docstring pdoc cannot parse, a name it cannot link, a broken guide link) fails the build.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
import warnings
from pathlib import Path

import pdoc
import pdoc.render
import pdoc.render_helpers

DOCS = Path(__file__).resolve().parent
#: The reference: the curated public API first, then the modules it points into.
MODULES = ["passgate", "passgate.web.starlette", "passgate.config", "passgate.errors"]
#: The hand-written guides, in reading order.
GUIDES = {"embedding": "Embedding passgate", "configuration": "Configuration", "cluster": "A cluster",
          "security": "The security model"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · passgate {version}</title>
<style>
body {{ font: 16px/1.55 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
nav {{ border-bottom: 1px solid #ddd; padding-bottom: .5rem; margin-bottom: 1.5rem; }}
nav a {{ margin-right: 1rem; }}
pre {{ background: #f6f8fa; padding: .75rem; overflow-x: auto; }}
code {{ font-size: .92em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ddd; padding: .25rem .5rem; vertical-align: top; }}
</style></head>
<body><nav>{nav}</nav>
{body}
</body></html>
"""


def nav() -> str:
    links = [("passgate.html", "API reference"), *((f"{name}.html", title) for name, title in GUIDES.items())]
    return "".join(f'<a href="{href}">{html.escape(text)}</a>' for href, text in links)


def guide_html(name: str, version: str) -> str:
    text = (DOCS / f"{name}.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text):
        if Path(target).stem not in GUIDES:
            warnings.warn(f"{name}.md links to {target}, which is not a guide", stacklevel=1)
    text = re.sub(r"\]\(([\w-]+)\.md", r"](\1.html", text)  # guide links point at the built pages
    body = pdoc.render_helpers.to_html(text)
    return PAGE.format(title=html.escape(GUIDES[name]), version=version, nav=nav(), body=body)


def index_html(version: str) -> str:
    items = "".join(
        f'<li><a href="{href}">{html.escape(text)}</a></li>'
        for href, text in [("passgate.html", "API reference"), *((f"{n}.html", t) for n, t in GUIDES.items())]
    )
    body = f"<h1>passgate {version}</h1><ul>{items}</ul>"
    return PAGE.format(title="passgate", version=version, nav=nav(), body=body)


def build(output: Path) -> list[str]:
    """Write the docs into ``output``; return the warnings raised on the way."""
    from passgate import __version__

    shutil.rmtree(output, ignore_errors=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.render.configure(docformat="restructuredtext", footer_text=f"passgate {__version__}", search=True)
        pdoc.pdoc(*MODULES, output_directory=output)
        for name in GUIDES:
            (output / f"{name}.html").write_text(guide_html(name, __version__), encoding="utf-8")
        (output / "index.html").write_text(index_html(__version__), encoding="utf-8")
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else DOCS / "_build"
    from passgate.config import reference_markdown

    (DOCS / "configuration.md").write_text(reference_markdown(), encoding="utf-8")  # generated, never edited
    problems = build(output)
    for problem in problems:
        print(f"docs: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"docs: {output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
