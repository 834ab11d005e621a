from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow
from cloudcx.ddl import not_compared, only_on


def _enum(cls: type[enum.Enum]) -> Enum:
    """Enums stored as plain strings: portable, and a new value needs no ALTER TYPE."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class TicketStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class TicketPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# The priorities in their order, as SQL: what ``sort=priority`` orders by and the
# index of that order holds. The query must spell it exactly as the index does.
PRIORITY_RANK = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
PRIORITY_RANK_SQL = (
    "(CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 "
    "WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 END)"
)


class TicketChannel(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    WEB = "web"
    API = "api"


class MessageKind(enum.StrEnum):
    REPLY = "reply"  # public: the requester sees it
    NOTE = "note"  # internal: agents only


class Ticket(IdMixin, TimestampMixin, Base):
    """A customer's request and its state.

    The list's indexes (migrations 0006 and 0014): each page of
    ``GET /api/v1/tickets`` is one range of one index read in the page's order,
    the id breaking ties as the cursor does; ``sort=priority`` reads an index
    on the priority's rank. ``q`` is answered by the full-text index of
    ``tickets.search`` (docs/search.md).
    """

    __tablename__ = "tickets"
    __table_args__ = (
        Index("uq_tickets_tenant_number", "tenant_id", "number", unique=True),
        only_on("postgresql", Index("ix_tickets_tenant_created", "tenant_id", "created_at", "id")),
        only_on(
            "sqlite",
            Index("ix_tickets_tenant_created_subject", "tenant_id", "created_at", "id", "subject"),
        ),
        Index("ix_tickets_tenant_updated", "tenant_id", "updated_at", "id"),
        Index("ix_tickets_tenant_status_created", "tenant_id", "status", "created_at", "id"),
        Index("ix_tickets_tenant_assignee_created", "tenant_id", "assignee_id", "created_at", "id"),
        Index(
            "ix_tickets_tenant_requester_created", "tenant_id", "requester_id", "created_at", "id"
        ),
        # Migration 0014: the priority order, and the counts of the agents' home.
        not_compared(
            Index(
                "ix_tickets_tenant_priority_created",
                "tenant_id",
                text(PRIORITY_RANK_SQL),
                "created_at",
                "id",
            )
        ),
        Index("ix_tickets_tenant_solved", "tenant_id", "solved_at"),
        Index("ix_tickets_tenant_assignee_status", "tenant_id", "assignee_id", "status"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # Sequential per tenant, for people ("ticket #42"); ``id`` is the stable API id.
    number: Mapped[int]
    subject: Mapped[str] = mapped_column(String(250))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.NEW)
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[TicketPriority] = mapped_column(
        _enum(TicketPriority), default=TicketPriority.NORMAL
    )
    channel: Mapped[TicketChannel] = mapped_column(_enum(TicketChannel), default=TicketChannel.API)
    # Indexed alone as well, for ON DELETE SET NULL when a contact or user goes.
    requester_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None, index=True
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    tag_rows: Mapped[list[TicketTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TicketTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    def set_tags(self, tags: list[str]) -> None:
        keep = {row.tag: row for row in self.tag_rows}
        self.tag_rows = [keep.get(t) or TicketTag(tag=t) for t in dict.fromkeys(tags)]


class TicketTag(Base):
    """One tag of a ticket: a row per tag so ``?tag=`` is an indexed lookup on any backend.

    The tag's index holds the ticket ids too: ``?tag=`` reads them from it alone.
    """

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tag", "tag", "ticket_id"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class TicketCounter(Base):
    """The last ticket number of a tenant.

    Incremented with an UPDATE in the ticket's own transaction: the row lock
    serialises concurrent creations, so numbers never repeat and never skip
    on rollback.
    """

    __tablename__ = "ticket_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)


class Message(IdMixin, TimestampMixin, Base):
    """A public reply or an internal note on a ticket, written by an agent or a contact."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket_created", "ticket_id", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind), default=MessageKind.REPLY)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    author_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)


class TicketEvent(IdMixin, TimestampMixin, Base):
    """One change of one field of a ticket: what it was, what it became, who changed it.

    Written by ``tickets.service`` in the transaction of the change itself, so
    the record of a change exists exactly when the change does. ``actor_user_id``
    is the agent (in the Control Panel, or the user a token acts for);
    ``actor_client_id`` the OAuth client (or ``apikey:<id>``) that made the call,
    empty for the Control Panel. ``old_value`` and ``new_value`` are JSON: text,
    an id, null, or a list of tags.
    """

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_created", "ticket_id", "created_at", "id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    new_value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    # Indexed for ON DELETE SET NULL when the user goes; the record stays.
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    actor_client_id: Mapped[str | None] = mapped_column(String(80), default=None)
