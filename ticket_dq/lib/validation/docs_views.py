"""Great Expectations' Data Docs page views, with one Jinja environment per process.

GX's Jinja views build a new ``jinja2.Environment`` for every page builder, so every Data Docs
build compiles its templates again (dozens per page, a few ms each): about half of a build. These
subclasses are named in the site configuration (GX's ``view`` setting of a site section and of the
index builder, see ``gx_duckdb.ephemeral_context``); each hands its instances the environment the
first one built, and Jinja's own template cache does the rest. The views keep no state of their own
beyond the environment, so sharing it changes no page.
"""

from __future__ import annotations

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

_ENVIRONMENTS: dict[tuple, object] = {}


class _SharedEnvironment:
    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        key = (type(self), custom_styles_directory, custom_views_directory)
        env = _ENVIRONMENTS.get(key)
        if env is None:
            super().__init__(custom_styles_directory, custom_views_directory)
            _ENVIRONMENTS[key] = self.env
        else:
            self.custom_styles_directory = custom_styles_directory
            self.custom_views_directory = custom_views_directory
            self.env = env


class PageView(_SharedEnvironment, DefaultJinjaPageView):
    """Expectation suite and validation result pages."""


class IndexPageView(_SharedEnvironment, DefaultJinjaIndexPageView):
    """The site's index page."""


def site_views() -> dict:
    """The site configuration keys that name these views (merged into GX's defaults)."""
    view = {"module_name": __name__, "class_name": PageView.__name__}
    return {
        "site_section_builders": {"expectations": {"view": view}, "validations": {"view": view}},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "view": {"module_name": __name__, "class_name": IndexPageView.__name__}},
    }
