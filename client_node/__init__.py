"""A partner's client node: Flower ClientApp, partner data ingestion, local training."""

from client_node.errors import ClientNodeError, PartnerDataError

__all__ = ["ClientNodeError", "PartnerDataError"]
