"""Resumable uploads: the tus 1.0.0 protocol over the S3 multipart upload an upload streams into.

Layers, each behind the next: ``routes`` (HTTP: identity, headers) -> ``service`` (the tus rules) ->
``state`` (rows and leases in PostgreSQL) and ``writer``/``storage`` (bytes into S3 parts and tail
objects; ``s3`` implements the storage). ``offsets`` and ``prefix`` are pure arithmetic and parsing.
"""
