"""Load tests of the ANB Video platform (issue 7): Locust web tier, worker tier, plots.

Run from the repository root as modules (``python -m loadtest.web``, ``python -m loadtest.workers``);
``make loadtest`` is the short version, ``make loadtest FULL=1`` the course's durations.
"""
