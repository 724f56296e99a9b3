"""Acting on a filtered list: call lists, e-mail lists and their CSV exports."""
