"""pymcd: a memcached-compatible server in pure Python on trio."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pymcd")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
