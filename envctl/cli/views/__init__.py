"""Rendering of command results: text for people, JSON for machines, Markdown for PR comments.

Views never decide anything; they format values that the commands and the library computed.
"""
