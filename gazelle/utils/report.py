"""A small, self-contained HTML report: headings, text, tables, preformatted text, images.

[leaf: stdlib, gazelle.utils.io]

`HtmlReport` collects blocks in order and writes one HTML file (atomically) with no
scripts and no external resources; images and other files are referenced by relative
links, so the report is meant to sit in the same folder as the files it shows. Every piece
of text is escaped, so log lines and error messages are shown as written. Long lines wrap
(preformatted text included) instead of running off the page.
"""
import html
import os

from gazelle.utils.io import atomic_write

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.25em 0.7em;
       text-align: left; } th { background: #f3f3f3; }
body, td, th, li, p, figcaption { overflow-wrap: anywhere; }
pre { background: #f6f6f6; padding: 0.8em; font-size: 0.85em; white-space: pre-wrap;
      overflow-wrap: anywhere; }
img { max-width: 100%; border: 1px solid #eee; }
table { max-width: 100%; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
.warning { color: #a00; }
"""


class HtmlReport:
    """Builds an HTML page block by block and writes it to a file.

    Args:
        title: the page title, shown as its first heading.

    ```python
    report = HtmlReport("Run 1")
    report.heading("Metrics")
    report.table([("test accuracy", "0.88")], header=("metric", "value"))
    report.image("learning_curves.png", caption="Learning curves")
    report.write("runs/1/report.html")
    ```
    """

    def __init__(self, title):
        self.title = str(title)
        self.blocks = []

    def heading(self, text):
        """Adds a section heading.

        Args:
            text: the heading text.
        """
        self.blocks.append(f"<h2>{html.escape(str(text))}</h2>")

    def text(self, text, warning=False):
        """Adds a paragraph.

        Args:
            text: the paragraph text.
            warning: if `True`, the paragraph is highlighted as a warning. Defaults to `False`.
        """
        css = ' class="warning"' if warning else ""
        self.blocks.append(f"<p{css}>{html.escape(str(text))}</p>")

    def items(self, items, warning=False):
        """Adds a bulleted list.

        Args:
            items: the list entries, as strings.
            warning: if `True`, the entries are highlighted as warnings. Defaults to `False`.
        """
        css = ' class="warning"' if warning else ""
        entries = "".join(f"<li>{html.escape(str(item))}</li>" for item in items)
        self.blocks.append(f"<ul{css}>{entries}</ul>")

    def preformatted(self, text):
        """Adds text in a fixed-width font, keeping its line breaks (logs, model summaries).

        Args:
            text: the text, a string or a list of lines.
        """
        if not isinstance(text, str):
            text = "\n".join(str(line) for line in text)
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, rows, header=None):
        """Adds a table.

        Args:
            rows: a list of rows, each a sequence of cell values (converted with `str`).
            header: optional column titles. Defaults to `None`.
        """
        parts = ["<table>"]
        if header is not None:
            parts.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
                         + "</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                         + "</tr>")
        parts.append("</table>")
        self.blocks.append("".join(parts))

    def image(self, src, caption=None):
        """Adds an image, linked by its path relative to the report.

        Args:
            src: the image file, relative to the report's folder (e.g. `"curves.png"`).
            caption: optional text below the image. Defaults to `None`.
        """
        src = html.escape(str(src), quote=True)
        alt = html.escape(str(caption or src), quote=True)
        cap = f"<figcaption>{html.escape(str(caption))}</figcaption>" if caption else ""
        self.blocks.append(f'<figure><img src="{src}" alt="{alt}">{cap}</figure>')

    def links(self, files):
        """Adds a bulleted list of links to files beside the report.

        Args:
            files: a list of `(relative_path, description)` pairs.
        """
        entries = "".join(
            f'<li><a href="{html.escape(str(p), quote=True)}">{html.escape(str(p))}</a>'
            f"{' — ' + html.escape(str(d)) if d else ''}</li>" for p, d in files)
        self.blocks.append(f"<ul>{entries}</ul>")

    def to_html(self):
        """Returns the whole page as a string."""
        title = html.escape(self.title)
        body = "\n".join(self.blocks)
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
                f"<h1>{title}</h1>\n{body}\n</body>\n</html>\n")

    def write(self, path):
        """Writes the page to `path` (UTF-8, atomically).

        Args:
            path: the HTML file to write.
        """
        atomic_write(os.fspath(path), self.to_html().encode("utf-8"))
