"""What a job raises to the code waiting for it: :class:`JobFailed` and :class:`JobCancelled`.

Both cross process boundaries (a pool worker, a Dask worker), so they pickle with their fields.
"""

from __future__ import annotations

__all__ = ["JobCancelled", "JobFailed", "user_errors"]


class JobFailed(RuntimeError):
    """A job ended without a result. ``str(err)`` is a sentence for people.

    ``retryable=True``: the work itself was fine but its worker was lost (killed, out of memory) or
    the cluster went away; running it again may well succeed. ``retryable=False``: the run itself
    failed (bad settings, unusable data, a diverging loss, the time limit); the message is the
    library's own error text, which the page shows as it showed it before jobs existed.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = bool(retryable)

    def __reduce__(self):
        return (_rebuild_failed, (str(self), self.retryable))


def _rebuild_failed(message: str, retryable: bool) -> JobFailed:
    return JobFailed(message, retryable=retryable)


class JobCancelled(RuntimeError):
    """The job was cancelled (its last owner left or pressed Cancel) before it finished."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors a person can fix by changing settings or data: they become ``JobFailed(retryable=False)``."""
    from adlab.data import DataError
    from adlab.train import NonFiniteLoss

    return ValueError, DataError, NonFiniteLoss
