"""The catalog: Backstage descriptors and OpenLineage events loaded into a dependency graph.

Pure and fast: loaders do file I/O at the edge, queries never do I/O. Imports nothing of ours.
"""
