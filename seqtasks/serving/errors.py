"""The ways a request fails, each with its canonical status code (as TF Serving's ``Status``) and
the HTTP status TF Serving's REST server maps that code to; gRPC answers the code itself."""

# TF Serving's http_server: canonical status code -> HTTP status.
HTTP_STATUS = {
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}


class ServingError(Exception):
    """A request the server answers with an error; ``code`` is the canonical status code."""

    code = "UNKNOWN"

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]


class RequestError(ServingError, ValueError):
    """A request the server cannot run: malformed JSON, wrong field or type, unknown signature,
    batch too large. The message names the problem and how to fix it."""

    code = "INVALID_ARGUMENT"


class WrongSignatureKind(ServingError):
    """A signature used by the wrong API (e.g. ``:classify`` on a predict signature)."""

    code = "FAILED_PRECONDITION"


class NotFound(ServingError, LookupError):
    """An unknown model, version or label."""

    code = "NOT_FOUND"


class BodyTooLarge(ServingError):
    """A request body over the server's size limit (HTTP 413; REST only)."""

    code = "RESOURCE_EXHAUSTED"

    @property
    def status(self) -> int:
        return 413


class DeadlineExceeded(ServingError):
    """A request not answered within its deadline (``--rest_api_timeout_in_ms``, or the gRPC
    client's own, whichever is sooner); its model call is stopped too."""

    code = "DEADLINE_EXCEEDED"


class RejectedInstance(Exception):
    """The model failed on one example of a request on its own: ``index`` in the request."""

    def __init__(self, index: int, error: Exception):
        super().__init__(f"instance {index}: {error}")
        self.index = index
        self.error = error


class Unavailable(ServingError):
    """The server cannot take the request now (a full batching queue, as TF Serving's
    ``max_enqueued_batches``); retrying later may succeed."""

    code = "UNAVAILABLE"
