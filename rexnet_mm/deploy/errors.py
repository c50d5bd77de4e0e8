"""The deploy library's errors: it raises, the tools print one line
(:func:`rexnet_mm.utils.errors.one_line_errors`); it never exits the
caller's process."""
from ..utils.errors import UserError


class DeployError(UserError):
    """An exported file, a runtime or an input cannot be used; one line says
    why and what is allowed."""


class MetadataError(DeployError):
    """An exported file's metadata is not what the exporter writes."""
