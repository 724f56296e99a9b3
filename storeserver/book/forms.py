"""Forms of the client book: choosing customers to add or remove."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField


class SelectionForm(FlaskForm):
    """Customer ids ticked in a list; `back` carries the list's filter."""

    # Choices are checked by the service against the legal entity and the
    # book, not by the form: a fixed choice list cannot know them.
    customer = SelectMultipleField(validate_choice=False)
    q = HiddenField()
    back = HiddenField()
