"""Visitor reservation system of the Zhengzhou Cybersecurity Science and Technology Museum."""

__version__ = "0.1.0"
