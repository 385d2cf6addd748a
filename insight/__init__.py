"""The customer-insight domain that partners and the coordinator share."""

from insight.errors import DataError, InsightError

__all__ = ["DataError", "InsightError"]
