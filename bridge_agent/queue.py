"""The account's FIFO order queue, reached with the short-lived STS credentials from /bridge/session.

The credentials' session policy names only this queue (receive, delete, change visibility, get
attributes). They are renewed a few minutes before they expire, and at once if AWS says they
expired. A message is deleted only by the runner, after the API accepted its report.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge_agent.api_client import BridgeSession

log = logging.getLogger(__name__)

_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "RequestExpired"}


class QueueUnavailable(Exception):
    """SQS could not be reached or refused the call; try again later."""


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1


class OrderQueue:
    def __init__(
        self,
        session_provider: Callable[[], BridgeSession],
        *,
        renew_before: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._session_provider = session_provider
        self._renew_before = renew_before
        self._clock = clock
        self._lock = threading.Lock()  # the receiver thread and the main thread share the client
        self._session: BridgeSession | None = None
        self._sqs: Any = None
        self.renewals = 0

    @property
    def session(self) -> BridgeSession | None:
        return self._session

    def _client(self, force: bool = False) -> tuple[Any, str]:
        with self._lock:
            expiring = (
                self._session is None
                or self._session.credentials.expiration - self._clock() <= self._renew_before
            )
            if force or expiring or self._sqs is None:
                self._renew()
            assert self._session is not None
            return self._sqs, self._session.queue_url

    def _renew(self) -> None:
        import boto3  # the agent's only AWS dependency; imported when first needed
        from botocore.config import Config

        session = self._session_provider()
        creds = session.credentials
        self._sqs = boto3.client(
            "sqs",
            region_name=session.region,
            endpoint_url=session.endpoint_url or None,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=Config(
                connect_timeout=5, read_timeout=35, retries={"max_attempts": 3, "mode": "standard"}
            ),
        )
        self._session = session
        self.renewals += 1
        log.info("queue credentials renewed; they expire at %s", creds.expiration.isoformat())

    def _call(self, operation: str, **kwargs: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        for attempt in range(2):
            sqs, queue_url = self._client(force=attempt > 0)
            try:
                return getattr(sqs, operation)(QueueUrl=queue_url, **kwargs)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in _EXPIRED_CODES and attempt == 0:
                    log.info("queue credentials expired early (%s); renewing", code)
                    continue
                raise QueueUnavailable(f"SQS {operation}: {code or exc}") from None
            except BotoCoreError as exc:
                raise QueueUnavailable(f"SQS {operation}: {type(exc).__name__}: {exc}") from None
        raise QueueUnavailable(f"SQS {operation}: credentials refused after renewal")

    def receive(
        self, wait_seconds: int = 20, max_messages: int = 10, visibility_seconds: int = 60
    ) -> list[QueueMessage]:
        resp = self._call(
            "receive_message",
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "MessageGroupId"],
        )
        return [
            QueueMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m["Body"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for m in resp.get("Messages", [])
        ]

    def delete(self, receipt_handle: str) -> None:
        self._call("delete_message", ReceiptHandle=receipt_handle)

    def extend(self, receipt_handle: str, seconds: int) -> None:
        self._call("change_message_visibility", ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)

    def depth(self) -> int:
        resp = self._call("get_queue_attributes", AttributeNames=["ApproximateNumberOfMessages"])
        return int(resp.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))


class VisibilityKeeper:
    """Keeps a message invisible while the agent works on it (ChangeMessageVisibility every `every` s)."""

    def __init__(
        self, queue: OrderQueue, receipt_handle: str, *, seconds: int = 60, every: float = 20.0
    ) -> None:
        self._queue = queue
        self._receipt = receipt_handle
        self._seconds = seconds
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> VisibilityKeeper:
        self._thread = threading.Thread(target=self._run, name="visibility-keeper", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._queue.extend(self._receipt, self._seconds)
            except QueueUnavailable as exc:
                log.warning("could not extend message visibility: %s", exc)
