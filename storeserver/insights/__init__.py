"""Analytics measures: HQ's integration settings, validation and live values."""
