"""HTML from jinja2 templates (pipelines/templates/) with autoescaping on: every value a template shows is
escaped, attributes are double-quoted; only markup the project itself generated (a chart's SVG, the
font-face CSS) is passed as Markup, and says so where it is made."""

from __future__ import annotations

from functools import lru_cache

import jinja2
from markupsafe import Markup


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **values) -> str:
    return environment().get_template(template).render(**values)


__all__ = ["Markup", "render"]
