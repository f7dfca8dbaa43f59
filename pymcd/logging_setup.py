"""memcached's verbosity levels as stdlib logging levels on the ``"pymcd"`` logger.

Invariants: everything pymcd says goes through the logger named ``"pymcd"`` (or a child such as
``"pymcd.server"``); the handler writes bare messages (``"%(message)s"``) to stderr, never to
stdout; configuring twice replaces pymcd's handler instead of adding a second one.

The mapping from memcached's ``-v`` count (``Settings.verbose``) to the logger's level:

==========  ===================  ===================================================  =========
memcached   what memcached says  log it with                                          level
==========  ===================  ===================================================  =========
(always)    fatal errors         ``logger.error(...)`` / ``logger.warning(...)``       WARNING
``-v``      errors/warnings      ``logger.log(VERBOSE_ERRORS, ...)`` (``info``)         INFO
``-vv``     client commands and  ``logger.log(VERBOSE_COMMANDS, ...)`` (``debug``),     DEBUG
            responses            in memcached's format: ``<27 get foo``, ``>27 END``
``-vvv``    internal state       ``logger.log(VERBOSE_INTERNALS, ...)``               5
            transitions
==========  ===================  ===================================================  =========

So a message memcached prints "when ``settings.verbose > 0``" is logged at ``VERBOSE_ERRORS``,
"when ``settings.verbose > 1``" at ``VERBOSE_COMMANDS``, and so on; guard costly formatting with
``logger.isEnabledFor(VERBOSE_COMMANDS)``. The ``verbosity`` command changes the level at run
time through :func:`set_verbosity`.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

LOGGER_NAME = "pymcd"
VERBOSE_ERRORS = logging.INFO  # -v: errors and warnings while serving
VERBOSE_COMMANDS = logging.DEBUG  # -vv: client commands and responses
VERBOSE_INTERNALS = 5  # -vvv: internal state transitions
logging.addLevelName(VERBOSE_INTERNALS, "TRACE")

_LEVELS = (logging.WARNING, VERBOSE_ERRORS, VERBOSE_COMMANDS, VERBOSE_INTERNALS)


def level_for_verbosity(verbose: int) -> int:
    """The logger level for memcached's verbosity ``verbose`` (0 = quiet; 3 and above = 5)."""
    return _LEVELS[max(0, min(verbose, len(_LEVELS) - 1))]


class _PymcdHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marker subclass so :func:`configure_logging` can find and replace its own handler."""


def configure_logging(verbose: int, stream: TextIO | None = None) -> logging.Logger:
    """Install pymcd's stderr handler on the ``"pymcd"`` logger at the level for ``verbose``.

    ``stream`` defaults to ``sys.stderr`` as it is at the time of the call. Records still
    propagate to the root logger (so pytest's ``caplog`` sees them). Returns the logger.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if isinstance(h, _PymcdHandler)]:
        logger.removeHandler(old)
    handler = _PymcdHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    set_verbosity(verbose)
    return logger


def handler_installed() -> bool:
    """Whether :func:`configure_logging` installed pymcd's stderr handler (the CLI does;
    an application embedding pymcd keeps control of its own logging)."""
    return any(isinstance(h, _PymcdHandler) for h in logging.getLogger(LOGGER_NAME).handlers)


def set_verbosity(verbose: int) -> None:
    """Change the ``"pymcd"`` logger's level to match memcached's ``verbosity <n>``."""
    logging.getLogger(LOGGER_NAME).setLevel(level_for_verbosity(verbose))
