"""Pictures of what a model does: PNG grids now; figures and the HTML report later."""

from aekit.report.images import image_grid, save_png

__all__ = ["image_grid", "save_png"]
