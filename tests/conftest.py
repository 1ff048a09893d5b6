"""Shared test configuration."""

pytest_plugins = ["envctl.emulator.pytest_plugin", "envctl.testing.pytest_plugin"]
