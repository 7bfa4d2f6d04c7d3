"""Test doubles shared by several test modules, imported as `tests.fakes.<module>`."""
