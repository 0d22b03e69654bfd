"""The ways a request fails that are the client's doing, with their HTTP status."""


class RequestError(ValueError):
    """A request the server cannot run: malformed JSON, wrong field or type, unknown signature,
    batch too large (HTTP 400). The message names the problem and how to fix it."""

    status = 400


class NotFound(LookupError):
    """An unknown model or version (HTTP 404)."""

    status = 404


class BodyTooLarge(ValueError):
    """A request body over the server's size limit (HTTP 413)."""

    status = 413


class RejectedInstance(Exception):
    """The model failed on one example of a request on its own: ``index`` in the request."""

    def __init__(self, index: int, error: Exception):
        super().__init__(f"instance {index}: {error}")
        self.index = index
        self.error = error
