"""User-facing errors: the CLI prints their message on one line and exits with status 2."""


class UserError(Exception):
    """Bad input from the user (configuration, arguments, data or trace files)."""


class ConfigError(UserError):
    """An invalid configuration value.

    Parameters
    ----------
    key : str
        Dotted key of the offending entry, as it appears in the TOML (``fixed.weight_bits``).
    value : object
        The value that was given.
    limit : str
        What the value must satisfy.
    """

    def __init__(self, key: str, value: object, limit: str):
        self.key, self.value, self.limit = key, value, limit
        super().__init__(f"config key '{key}' = {value!r}: {limit}")


class DataError(UserError):
    """A missing, corrupt or mismatching data or weights file."""


class GatewareMismatch(AssertionError):
    """The gateware computed something other than the fixed-point model (``train --check``,
    the cocotb monitors): the message names the first differing value."""
