"""Postmortem drafts in markdown, built from an incident's timeline and the catalog graph."""
