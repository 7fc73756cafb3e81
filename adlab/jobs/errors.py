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

    ``text_key`` / ``text_fields``: the catalogue key and fields of the user's error this failure carries
    (a :class:`adlab.data.DataError` raised in a worker), so that the page says it in the session's language
    (:func:`adlab.i18n.message`); None / {} for a message that has none.
    """

    def __init__(self, message: str, *, retryable: bool = False, text_key: str | None = None,
                 text_fields: dict | None = None) -> None:
        super().__init__(message)
        self.retryable = bool(retryable)
        self.text_key = text_key
        self.text_fields = dict(text_fields or {})

    @classmethod
    def of(cls, err: BaseException, message: str, *, retryable: bool = False) -> JobFailed:
        """A failure saying ``message`` that keeps ``err``'s catalogue key and fields, if it has them."""
        key = getattr(err, "text_key", None)
        return cls(message, retryable=retryable, text_key=key if isinstance(key, str) else None,
                   text_fields=dict(getattr(err, "text_fields", None) or {}) if isinstance(key, str) else None)

    def __reduce__(self):
        return (_rebuild_failed, (str(self), self.retryable, self.text_key, self.text_fields))


def _rebuild_failed(message: str, retryable: bool, text_key: str | None = None,
                    text_fields: dict | None = None) -> JobFailed:
    return JobFailed(message, retryable=retryable, text_key=text_key, text_fields=text_fields)


class JobCancelled(RuntimeError):
    """The job was cancelled (its last owner left or pressed Cancel) before it finished."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors a person can fix by changing settings or data: they become ``JobFailed(retryable=False)``."""
    from adlab.data import DataError
    from adlab.train import NonFiniteLoss

    return ValueError, DataError, NonFiniteLoss
