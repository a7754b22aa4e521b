"""Recipe configuration: templating, merging and the typed schema."""

from mlrecipes.config.loader import LoadedRecipe, find_recipe_root, load_recipe, parse_var_overrides
from mlrecipes.config.schema import RecipeConfig

__all__ = ["LoadedRecipe", "RecipeConfig", "find_recipe_root", "load_recipe", "parse_var_overrides"]
