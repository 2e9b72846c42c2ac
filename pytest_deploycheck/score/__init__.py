"""The deployment score, its history and the analyses over it.

The samples a run produced per operation (``results``), the pure scoring of a run into
components, band and verdict (``scoring``), the store of deployments, runs, scores, alert
state and rollbacks behind one SQLAlchemy Core interface (``history``), and the three
analyses: this deployment, against the previous one, the trend (``analysis``). Modules here
may import ``core`` and each other; the checks never import them, only the layers above do.
"""
