"""Shared setup of the plugin's own tests."""

from __future__ import annotations

# fixture projects (specs, migrations, sample apps) are data, never tests to collect
collect_ignore_glob = ["fixtures/*"]
