"""Re-export of :mod:`pymcd.results` (the store's answers) for code inside the store."""

from pymcd.results import DeltaResult, StoreMode, StoreResult

__all__ = ["DeltaResult", "StoreMode", "StoreResult"]
