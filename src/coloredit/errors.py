"""The one exception type for input a user can fix; the CLI turns it into exit code 2 and one line."""


class ColorEditError(ValueError):
    """Bad input (image, mask, color, model, config): the message says what and how to fix it."""
