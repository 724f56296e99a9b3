"""The analytics integration: HQ's settings and what the store found checking them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

MODES = ("nightly", "live")


class InsightsSettings(db.Model):
    """How a legal entity reaches its customer-analytics service (from HQ)."""

    __tablename__ = "insights_settings"

    legal_entity_id: Mapped[str] = mapped_column(
        sa.ForeignKey("legal_entity.id"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # nightly: values come with the HQ pull; live: the card asks the service.
    mode: Mapped[str] = mapped_column(sa.String(10), default="nightly")
    application_id: Mapped[str | None] = mapped_column(sa.String(100))
    tenant: Mapped[str | None] = mapped_column(sa.String(100))
    authority: Mapped[str | None] = mapped_column(sa.String(200))
    # vault://<vault>/<secret>, or an instance config key / environment name.
    secret_name: Mapped[str | None] = mapped_column(sa.String(200))
    environment: Mapped[str | None] = mapped_column(sa.String(100))
    endpoint: Mapped[str | None] = mapped_column(sa.String(300))
    scope: Mapped[str | None] = mapped_column(sa.String(300))
    # The service's field that holds our customer account number.
    account_field: Mapped[str] = mapped_column(sa.String(100), default="account")
    # Our measure id -> the service's field name, for the card's measures.
    fields: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class InsightsState(db.Model):
    """The store's own finding: the last validation and the last live failure."""

    __tablename__ = "insights_state"

    legal_entity_id: Mapped[str] = mapped_column(
        sa.ForeignKey("legal_entity.id"), primary_key=True
    )
    # Set when a validation failed: cards show attributes until one succeeds.
    switched_off: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    failed_step: Mapped[str | None] = mapped_column(sa.String(30))
    message: Mapped[str | None] = mapped_column(sa.Text)
    checked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    checked_by: Mapped[str | None] = mapped_column(sa.String(40))
    ok_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    secret_expires_on: Mapped[datetime | None] = mapped_column(sa.DateTime)
    live_failed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    live_error: Mapped[str | None] = mapped_column(sa.Text)
