"""The read-only audit service: a FastAPI app over one run's audit log, with an HTML page.

Importing this package imports FastAPI and pydantic; `audit`, `audit.merkle` and
`audit.run` never import it, so the offline verifier does not need them.
"""

from audit.service.app import create_app
from audit.service.errors import NoCheckpointError, ServiceError
from audit.service.settings import AuditServiceSettings

__all__ = ["AuditServiceSettings", "NoCheckpointError", "ServiceError", "create_app"]
