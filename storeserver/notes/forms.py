"""The note form."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length


class NoteForm(FlaskForm):
    # The service counts the text after line ends are made plain (a browser
    # sends each as two characters), so the form allows some room for them.
    body = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=6000)])
    # A one-time token for a new note; the version an edit started from.
    token = HiddenField()
    version = HiddenField()

    def fresh(self) -> NoteForm:
        if not self.token.data:
            self.token.data = uuid.uuid4().hex
        return self
