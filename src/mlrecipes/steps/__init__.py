"""The steps: every public module of this package defines one
:class:`~mlrecipes.steps.base.Step` subclass (modules starting with ``_`` hold a step's private
helpers). Adding a step is adding a module: execution discovers the declarations
(``mlrecipes.execution.declarations``) and builds the schema's steps section, the DAG,
``inspect`` and ``get_artifact`` from them.
"""

from __future__ import annotations

from mlrecipes.steps.base import Output, Step

__all__ = ["Output", "Step"]
