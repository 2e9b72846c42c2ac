"""Repository-level pytest setup.

Its presence makes the repository root the rootdir and puts it on ``sys.path``, so the
reference service (``examples.booking_api``) imports in tests and in the gate's local target.
"""
