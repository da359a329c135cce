"""A student's variant as Markdown (printable), HTML (printable, self-contained) or a notebook.

All three come from one Markdown rendering per item, so they cannot disagree. With `key=True`
the instructor's copy adds each answer and its feedback. The notebook collects answers in a dict
and its last cell writes the responses file that `course quiz grade` reads.
"""

from __future__ import annotations

import json

import jinja2
from markupsafe import Markup

from autograder.quiz.grading import feedback, how_to_answer, key_response, safe_name
from autograder.quiz.variant import Item, Variant

FORMATS = ("md", "html", "ipynb")
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.quiz", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=jinja2.select_autoescape(["html.j2"]),
)


def key_notes(item: Item) -> list[str]:
    """The instructor's notes: why every choice is right or wrong, what else is accepted, the explanation."""
    if item.kind in ("single", "multi"):
        return [
            f"{'✓' if c.correct else '✗'} ({c.key}) {c.text}" + (f" — {c.explain}" if c.explain else "")
            for c in item.choices
        ] + ([item.explain.strip()] if item.explain else [])
    notes = feedback(item, key_response(item))
    if item.kind == "text" and (len(item.answer) > 1 or item.patterns):
        notes.insert(
            0, "Accepted: " + " | ".join(item.answer) + "".join(f" | regex `{p}`" for p in item.patterns)
        )
    return notes


def item_markdown(item: Item, key: bool = False) -> str:
    return (
        TEMPLATES.get_template("item.md.j2")
        .render(
            item=item,
            how=how_to_answer(item),
            key=key,
            answer=key_response(item),
            feedback=key_notes(item) if key else [],
        )
        .strip()
    )


def to_markdown(variant: Variant, key: bool = False) -> str:
    items = [item_markdown(i, key) for i in variant.items]
    return TEMPLATES.get_template("quiz.md.j2").render(variant=variant, items=items)


def markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    html: str = MarkdownIt("commonmark", {"html": False}).render(text)
    return html


def to_html(variant: Variant, key: bool = False) -> str:
    items = [Markup(markdown_to_html(item_markdown(i, key))) for i in variant.items]
    intro = Markup(markdown_to_html(variant.intro)) if variant.intro else ""
    return TEMPLATES.get_template("quiz.html.j2").render(variant=variant, items=items, intro=intro)


def to_notebook(variant: Variant, key: bool = False) -> str:
    import nbformat.v4 as nbf

    out = f"responses-{variant.module}-{safe_name(variant.student)}.json"
    cells = [
        nbf.new_markdown_cell(
            f"# {variant.title}\n\nStudent: **{variant.student}** · variant {variant.seed}"
            + (f"\n\n{variant.intro}" if variant.intro else "")
            + "\n\nWrite each answer as a string in the cell below its question, "
            "then run the last cell and hand in the file it writes."
        ),
        nbf.new_code_cell("answers = {}"),
    ]
    for item in variant.items:
        cells.append(nbf.new_markdown_cell(item_markdown(item, key)))
        given = json.dumps(key_response(item)) if key else '""'
        cells.append(nbf.new_code_cell(f"answers[{item.qid!r}] = {given}  # {how_to_answer(item)}"))
    cells.append(
        nbf.new_code_cell(
            "import json\n\n"
            f"with open({out!r}, 'w') as fh:\n"
            f"    json.dump({{'student': {variant.student!r}, 'answers': answers}}, fh, indent=1)\n"
            f"print('wrote {out}: hand it in')"
        )
    )
    nb = nbf.new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    written: str = nbf.writes(nb)
    return written


def render(variant: Variant, fmt: str, key: bool = False) -> str:
    renderers = {"md": to_markdown, "html": to_html, "ipynb": to_notebook}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return renderers[fmt](variant, key)
