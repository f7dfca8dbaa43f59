"""memcached's text protocol, sans-IO: bytes in, Command objects out; replies rendered to bytes."""

from pymcd.protocol.commands import Command
from pymcd.protocol.text import NEED_DATA, TextParser

__all__ = ["NEED_DATA", "Command", "TextParser"]
