"""The seminar's lessons that are experiments rather than one method: each module owns its runs
(listed in its ``JOBS``, run by the job kind ``"lesson"`` of :mod:`adlab.jobs.work`), its frozen
configuration and its results. Plain torch + numpy; never imports streamlit."""
