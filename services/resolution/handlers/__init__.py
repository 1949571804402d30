"""Resolution's use cases (cases, operations figures) and the process-local signals they raise."""

from services.resolution.handlers.cases import OVERDUE_BATCH, Cases, Official
from services.resolution.handlers.operations import Operations
from services.resolution.handlers.signals import ChangeSignal, DueSignal, Watch

__all__ = ["OVERDUE_BATCH", "Cases", "ChangeSignal", "DueSignal", "Official", "Operations", "Watch"]
