"""Tests of rulegrad.testing (a package: its conftest and test_cli must not clash by name)."""
