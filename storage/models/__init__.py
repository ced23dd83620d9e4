"""The schema: customers, technicians, orders, job offers, sessions, audit log, metadata.

Every column that holds something a person typed or that identifies them (name, phone,
address, location, problem text, conversation answers) is encrypted at rest; phone lookups go
through a keyed blind index. The tables live in the modules of this package, by what they
hold (``booking``, ``queues``, ``conversations``, ``records``; the shared column builders in
``columns``); importing the package registers every one of them on ``SQLModel.metadata``.
"""

from storage.models.booking import (
    OPEN_JOBS_WHERE,
    Customer,
    JobOffer,
    JobView,
    OfferStatus,
    Order,
    OrderStatus,
    Technician,
)
from storage.models.columns import utcnow
from storage.models.conversations import ConversationSession, HandoffMessage, HandoffThread
from storage.models.queues import (
    InboxState,
    InboxUpdate,
    Lease,
    OutboxMessage,
    OutboxStatus,
)
from storage.models.records import AuditEvent, Meta

__all__ = [
    "OPEN_JOBS_WHERE",
    "AuditEvent",
    "ConversationSession",
    "Customer",
    "HandoffMessage",
    "HandoffThread",
    "InboxState",
    "InboxUpdate",
    "JobOffer",
    "JobView",
    "Lease",
    "Meta",
    "OfferStatus",
    "Order",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Technician",
    "utcnow",
]
