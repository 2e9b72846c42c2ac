"""Example services that pytest-deploycheck is developed and tested against."""
