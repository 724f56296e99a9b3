"""The activity form: what was done or is planned, and when, in local time."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .services import ActivityInput

STATUS_CHOICES = [
    SelectChoice("planned", _l("Planned")),
    SelectChoice("done", _l("Done")),
    SelectChoice("cancelled", _l("Cancelled")),
]


class ActivityForm(FlaskForm):
    customer = SelectField(_l("Customer"), validate_choice=False)
    type = SelectField(_l("Type"), validators=[DataRequired()], validate_choice=False)
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    day = DateField(_l("Date"), validators=[InputRequired()])
    all_day = BooleanField(_l("All day (no time)"))
    start = TimeField(_l("Start"), validators=[Optional()])
    end = TimeField(_l("End"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="planned")
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=4000)]
    )
    # A one-time token: a double click sends it twice and saves once.
    token = HiddenField()
    version = HiddenField()

    def prepare(self, types, customers=None) -> ActivityForm:
        """Offer these activity types (and customers, from the calendar)."""
        self.type.choices = [SelectChoice(t.id, label) for t, label in types]
        if not self.type.data and not self.is_submitted():
            # Most activities are logged after the fact, a call or a visit:
            # offer one of those first, not an appointment that needs a time.
            plain = [t.id for t, _label in types if not t.appointment]
            self.type.data = plain[0] if plain else None
        if customers is not None:
            self.customer.choices = [SelectChoice(c.id, c.name) for c in customers]
        if not self.token.data:
            self.token.data = uuid.uuid4().hex
        return self

    def to_input(self) -> ActivityInput:
        return ActivityInput(
            type_id=self.type.data or "",
            subject=self.subject.data or "",
            description=self.description.data or "",
            all_day=bool(self.all_day.data),
            day=self.day.data,
            start=self.start.data,
            end=self.end.data,
            status=self.status.data or "planned",
            token=self.token.data or "",
        )
