"""Checking gradient rules: numeric checks, Hypothesis strategies and generated tests."""

from .gradcheck import TOLERANCES as TOLERANCES
from .gradcheck import checkgrad as checkgrad
from .gradcheck import numeric_check as numeric_check

__all__ = ["TOLERANCES", "checkgrad", "numeric_check"]
