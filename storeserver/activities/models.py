"""Activity types from HQ."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ActivityType(db.Model):
    __tablename__ = "activity_type"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    appointment: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
