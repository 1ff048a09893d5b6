"""envctl: declarative, GitOps-managed Python environments for MaxCompute / MaxFrame UDFs."""

__version__ = "0.1.0"
